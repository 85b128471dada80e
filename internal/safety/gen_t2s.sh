#!/bin/sh
# gen_t2s.sh regenerates t2s.txt from OpenCC's character table. It needs the opencc command
# (Debian: apt-get install opencc) and python3; nothing here runs at build or run time.
set -eu
cd "$(dirname "$0")"
python3 - <<'PY'
import subprocess
chars = [chr(c) for c in list(range(0x3400, 0x4DC0)) + list(range(0x4E00, 0xA000))]
out = subprocess.run(["opencc", "-c", "t2s"], input=("\n".join(chars) + "\n").encode(),
                     capture_output=True, check=True).stdout.decode().split("\n")
pairs = [(a, b) for a, b in zip(chars, out) if a != b and len(b) == 1]
head = open("t2s.txt", encoding="utf-8").read().split("\n")
head = [l for l in head if l.startswith("#")]
with open("t2s.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(head + [a + b for a, b in pairs]) + "\n")
print(len(pairs), "pairs")
PY
