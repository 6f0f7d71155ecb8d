#!/usr/bin/env python3
"""Makes the ECDSA key files whose private scalar ssh-keygen wrote short (its leading byte
is zero, and an mpint drops it): tests/sshsig/signing.rs signs with them. Run once, from
this directory, with OpenSSH's ssh-keygen:  python3 make.py
short-p521-locked is short-p521 encrypted with the passphrase "correct horse".
"""
import base64, os, shutil, struct, subprocess

def field(data, at):
    size = struct.unpack(">I", data[at:at + 4])[0]
    return data[at + 4:at + 4 + size], at + 4 + size

def scalar_length(path):
    lines = open(path).read().splitlines()
    data = base64.b64decode("".join(l for l in lines if not l.startswith("-----")))
    at = len(b"openssh-key-v1\0")
    for _ in range(3):  # cipher, kdf, kdf options
        _, at = field(data, at)
    at += 4  # one key
    _, at = field(data, at)  # the public key
    private, _ = field(data, at)
    at = 8  # two checkints
    for _ in range(3):  # key type, curve, public point
        _, at = field(private, at)
    scalar, _ = field(private, at)
    return len(scalar)

for name, bits, width in [("short-p256", "256", 32), ("short-p521", "521", 66)]:
    while True:
        for old in (name, name + ".pub"):
            if os.path.exists(old):
                os.remove(old)
        subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", bits, "-N", "", "-C", name, "-f", name], check=True)
        if scalar_length(name) < width:
            break

shutil.copy("short-p521", "short-p521-locked")
shutil.copy("short-p521.pub", "short-p521-locked.pub")
subprocess.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "correct horse", "-f", "short-p521-locked"], check=True)
