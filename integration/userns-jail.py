#!/usr/bin/env python3
"""Runs COMMAND in a new user namespace that maps uids/gids 0-65535 to themselves and allows
no further user namespaces inside it (user.max_user_namespaces = 0 there), as hosts that
restrict unprivileged user namespaces do. Needs root. Usage: userns-jail.py COMMAND ARGS..."""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER = 0x10000000
ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(ready_r); os.close(go_w)
    if libc.unshare(CLONE_NEWUSER) != 0:
        print("unshare failed:", os.strerror(ctypes.get_errno()), file=sys.stderr)
        os._exit(97)
    os.write(ready_w, b"x")
    os.read(go_r, 1)
    os.setgid(0); os.setuid(0)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0\n")
    os.execvp(sys.argv[1], sys.argv[1:])
os.close(ready_w); os.close(go_r)
os.read(ready_r, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{name}", "w") as f:
        f.write("0 0 65536\n")
os.write(go_w, b"x")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
