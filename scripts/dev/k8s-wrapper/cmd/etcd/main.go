// etcd, built from go.etcd.io/etcd/server/v3 at the version k8s.io/kubernetes requires.
// This is the whole of etcd's own main.go (go.etcd.io/etcd/v3), which is not a usable module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
