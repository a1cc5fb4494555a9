// The processes of the attribution benchmark, as Python sources written to a temp dir:
//   holders.py  N F      forks N children that each hold F open files and sleep (the "busy host")
//   server.py   ADDR P K listens on ADDR:P..P+K-1 in the internet namespace, accepts, reads to EOF
//   client.py   PORT     one of the 20 programs (copied under 20 names): on "run RATE LIFE_MS SECS"
//                        from stdin it opens RATE connections/s to PORT, holds each LIFE_MS, then
//                        prints "done N" (connections made); "quit" ends it.
// All are bounded: the holders and server exit when their stdin closes, the clients after "quit"
// or stdin EOF; every loop runs for a given time.

export const HOLDERS_PY = String.raw`
import ctypes, os, sys, signal, tempfile
n, per = int(sys.argv[1]), int(sys.argv[2])
path = tempfile.mkstemp(prefix='ewbench-held-')[1]
# SIGTERM runs the finally below (the children are killed), as stdin EOF does.
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
libc = ctypes.CDLL(None, use_errno=True)
kids = []
for i in range(n):
    pid = os.fork()
    if pid == 0:
        # PR_SET_PDEATHSIG (1): die with the parent, however it ends.
        libc.prctl(1, signal.SIGKILL)
        if os.getppid() == 1: os._exit(0)
        fds = [os.open(path, os.O_RDONLY) for _ in range(per)]
        signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
        while True:
            signal.pause()
    kids.append(pid)
os.unlink(path)
print('ready %d' % len(kids), flush=True)
try:
    sys.stdin.read()
finally:
    for pid in kids:
        try: os.kill(pid, signal.SIGKILL)
        except ProcessLookupError: pass
    for pid in kids:
        try: os.waitpid(pid, 0)
        except ChildProcessError: pass
`;

export const SERVER_PY = String.raw`
import selectors, socket, sys, threading, os
addr, base, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sel = selectors.DefaultSelector()
for p in range(base, base + count):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, p)); s.listen(4096); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, 'listen')
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
print('ready', flush=True)
while True:
    for key, _ in sel.select(1.0):
        s = key.fileobj
        if key.data == 'listen':
            for _ in range(64):
                try: c, _a = s.accept()
                except BlockingIOError: break
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, 'conn')
        else:
            try: data = s.recv(4096)
            except OSError: data = b''
            if not data:
                sel.unregister(s); s.close()
`;

export const CLIENT_PY = String.raw`
import collections, os, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
print('pid %d' % os.getpid(), flush=True)
for line in sys.stdin:
    words = line.split()
    if not words or words[0] != 'run':
        break
    rate, life, secs = float(words[1]), float(words[2]) / 1000.0, min(float(words[3]), 60.0)
    gap = 1.0 / rate
    open_ = collections.deque()
    made = failed = 0
    start = time.monotonic()
    nxt = start
    end = start + secs
    while True:
        now = time.monotonic()
        while open_ and open_[0][0] <= now:
            open_.popleft()[1].close()
        if now >= end and not open_:
            break
        if now >= nxt and now < end:
            s = socket.socket()
            try:
                s.connect((host, port))
                s.send(b'x')
                open_.append((time.monotonic() + life, s))
                made += 1
            except OSError:
                s.close(); failed += 1
            nxt += gap
            if nxt < now - 0.1: nxt = now
            continue
        wake = min([t for t in (nxt if now < end else None, open_[0][0] if open_ else None) if t is not None] or [now + 0.01])
        if wake > now: time.sleep(min(wake - now, 0.05))
    print('done %d %d' % (made, failed), flush=True)
`;
