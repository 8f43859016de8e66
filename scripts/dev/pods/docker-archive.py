#!/usr/bin/env python3
"""Writes a one-layer image as a docker-archive tarball that `ctr images import` accepts.

Usage: docker-archive.py OUT.tar REPO:TAG ENTRYPOINT FILE...   (each FILE lands in / of the image)
Used for the pause image, which no registry can give us here. Timestamps are fixed, so the same
inputs always give the same image digest.
"""
import hashlib
import io
import json
import os
import sys
import tarfile


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def main() -> None:
    out, ref, entrypoint, *files = sys.argv[1:]
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for path in files:
            info = layer.gettarinfo(path, arcname=os.path.basename(path))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(path, "rb") as f:
                layer.addfile(info, f)
    layer_bytes = layer_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": [entrypoint], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "scripts/dev/pods/docker-archive.py"}],
        "created": "1970-01-01T00:00:00Z",
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]
    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, "layer.tar", layer_bytes)
        add_bytes(tar, config_name, config_bytes)
        add_bytes(tar, "manifest.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main()
