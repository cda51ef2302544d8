#!/bin/sh
# Rebuilds policy.bpf (binary struct sock_filter, little-endian x86_64)
# from policy.c; needs clang-19 and libseccomp-dev.
set -eu
cd "$(dirname "$0")"
clang-19 -O1 -o /tmp/tsbpf-seccomp-policy policy.c -lseccomp
/tmp/tsbpf-seccomp-policy >policy.bpf
rm -f /tmp/tsbpf-seccomp-policy
