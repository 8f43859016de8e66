Command exited with non-zero status 255
0.01 0.01
