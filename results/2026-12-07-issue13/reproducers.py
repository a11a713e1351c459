import os, sys, errno
m = sys.argv[1]
def t(label, f):
    try: print(f"{label}: {f()}")
    except OSError as e: print(f"{label}: {errno.errorcode.get(e.errno, e.errno)}")
p = m + "/r1"
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644); os.write(fd, b"still here"); os.unlink(p)
t("1 unlink: fstat nlink,size", lambda: (os.fstat(fd).st_nlink, os.fstat(fd).st_size))
t("1 unlink: pread", lambda: os.pread(fd, 100, 0))
t("1 unlink: pwrite then pread", lambda: (os.pwrite(fd, b"STILL", 0), os.pread(fd, 100, 0)))
os.close(fd)
open(m + "/r2", "w").write("old content"); fd = os.open(m + "/r2", os.O_RDONLY)
open(m + "/r2.new", "w").write("new"); os.rename(m + "/r2.new", m + "/r2")
t("1 rename over: old fd pread", lambda: os.pread(fd, 100, 0)); os.close(fd)
open(m + "/r3", "w").write("x"); os.chmod(m + "/r3", 0)
t("3 chmod 0000 -> mode", lambda: oct(os.stat(m + "/r3").st_mode & 0o7777))
os.utime(m + "/r3", (978307200, 978307200))
t("2 utime 2001-01-01 -> mtime", lambda: os.stat(m + "/r3").st_mtime)
os.makedirs(m + "/r4/a"); os.makedirs(m + "/r4/b")
t("4 dir with 2 subdirs nlink", lambda: os.stat(m + "/r4").st_nlink)
open(m + "/r5", "w").write("x"); i1 = os.stat(m + "/r5").st_ino; os.rename(m + "/r5", m + "/r5b")
t("5 rename keeps st_ino", lambda: os.stat(m + "/r5b").st_ino == i1)
os.mkdir(m + "/r5d"); i1 = os.stat(m + "/r5d").st_ino; os.rename(m + "/r5d", m + "/r5e")
t("5 dir rename keeps st_ino", lambda: os.stat(m + "/r5e").st_ino == i1)
d = os.open(m, os.O_RDONLY)
n = "n" * 200
ok = True
for depth in range(25):
    try: os.mkdir(n, dir_fd=d); nd = os.open(n, os.O_RDONLY, dir_fd=d); os.close(d); d = nd
    except OSError as e: ok = f"depth {depth+1}: {errno.errorcode[e.errno]}"; break
print(f"6 mkdir 200-char names to depth 25: {ok}")
