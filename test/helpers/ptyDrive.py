"""Runs a command on a new pty, as a user at a terminal would: waits until its output contains
`wait_for`, types `input`, reads until the command exits, and prints JSON {"output", "exit"}.
Usage: python3 ptyDrive.py '{"argv": [...], "wait_for": "# ", "input": "hostname; exit 3\\n"}'"""
import json
import os
import pty
import select
import sys
import time

req = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(req["argv"][0], req["argv"])
out = b""
typed = False
deadline = time.time() + req.get("timeout", 20)
while time.time() < deadline:
    if not typed and req["wait_for"].encode() in out:
        os.write(fd, req["input"].encode())
        typed = True
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        continue
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode("utf-8", "replace"), "exit": os.waitstatus_to_exitcode(status), "typed": typed}))
