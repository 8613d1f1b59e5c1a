# prov_stuck.py PORT MODE READYFILE: a TCP server on loopback that never answers, for the fetch
# timeout tests. MODE silent: accepts every connection and says nothing. MODE full: never
# accepts and fills its accept queue itself, so the kernel drops further SYNs and a client's
# connect() hangs as it would against a blackholed address. Exits by itself after 120 s.
import socket
import sys
import time

port, mode, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
end = time.time() + 120
if mode == "silent":
    s.listen(16)
    s.settimeout(1)
    conns = []
    open(ready, "w").write("ready\n")
    while time.time() < end:
        try:
            conns.append(s.accept()[0])
        except socket.timeout:
            pass
else:
    s.listen(0)
    fill = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.5)
    open(ready, "w").write("ready\n")
    time.sleep(max(0, end - time.time()))
