# Unix sockets at a checkpoint (tests/e2e/checkpoint_test.sh): a listener on a path with an accepted
# connection and a pending one (data queued at both), abstract datagram sockets with a message
# queued; after the ready point (a line on stdin) every piece is used. Prints one line that must
# be the same natively, under fnbox run and after fnbox restore (but for its first word).
import os, socket, sys
# argv: the directory for the path name (default /tmp), a suffix for the abstract names
where = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
tag = sys.argv[2] if len(sys.argv) > 2 else ""
path = os.path.join(where, "srv.sock")
# a listening stream socket on a path, with one accepted connection and one still pending
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path); srv.listen(4)
c1 = socket.socket(socket.AF_UNIX); c1.connect(path)
a1, _ = srv.accept()
c1.sendall(b"before-1")            # queued at the accepted end
c4 = socket.socket(socket.AF_UNIX); c4.connect(path)
a4, _ = srv.accept()
c4.sendall(b"last-words"); c4.close()  # a peer gone, its data still to be read
c2 = socket.socket(socket.AF_UNIX); c2.connect(path)
c2.sendall(b"pending-2")           # queued at a connection nobody accepted yet
# abstract datagram sockets with a queued datagram from a named sender
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind("\0fnbox-dgram" + tag)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("\0fnbox-sender" + tag)
s.sendto(b"dgram-1", "\0fnbox-dgram" + tag)
line = sys.stdin.readline().strip()  # ready point
out = [line]
out.append(a1.recv(100).decode())
out.append("%s then %r" % (a4.recv(100).decode(), a4.recv(100)))
a2, _ = srv.accept()
out.append(a2.recv(100).decode())
a2.sendall(b"reply-2"); out.append(c2.recv(100).decode())
data, addr = d.recvfrom(100); out.append("%s from %r" % (data.decode(), addr[:len(addr) - len(tag)] if tag and addr.endswith(tag.encode()) else addr))
c3 = socket.socket(socket.AF_UNIX); c3.connect(path)   # the name still works
a3, _ = srv.accept(); c3.sendall(b"new-3"); out.append(a3.recv(100).decode())
s.sendto(b"dgram-2", "\0fnbox-dgram" + tag); out.append(d.recv(100).decode())
try:
    socket.socket(socket.AF_UNIX).bind(path)
except OSError as e:
    out.append("rebind: %s" % e.strerror)
print(" | ".join(out))
