// Exports a seccomp filter built by libseccomp (a real-world classic BPF
// producer) as a binary struct sock_filter array on stdout. The rules are
// mirrored by seccomp.test.ts, which checks that tsbpf's SeccompFilter gives
// each system call the action the rules say. Regenerate with ./make.sh.
#include <seccomp.h>
#include <sys/mman.h>
#include <stdio.h>

int main(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(1));
  if (!ctx) return 1;
  int rc = 0;
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 0);
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, 1));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ptrace), 0);
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_TRACE(7), SCMP_SYS(openat), 0);
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(lseek), 1, SCMP_A1(SCMP_CMP_GT, 0x100000000ULL));
  rc |= seccomp_rule_add(ctx, SCMP_ACT_LOG, SCMP_SYS(getpid), 0);
  if (rc != 0) return 2;
  rc = seccomp_export_bpf(ctx, 1);
  seccomp_release(ctx);
  return rc == 0 ? 0 : 3;
}
