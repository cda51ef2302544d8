// Subpath export `tsbpf/progtypes`: program-type contexts (xdp_md,
// __sk_buff, pt_regs, raw tracepoint arguments, syscall buffers), their
// helpers, and BPF_PROG_TEST_RUN.
export { testRun } from './test-run.js';
export type { TestRunOptions, TestRunResult, TestRunTarget } from './test-run.js';
export { createRunContext, ctxKind, supportedTestRunTypes, takesPacket } from './kinds.js';
export type { CtxKind } from './kinds.js';
export { ProgRunContext } from './run-context.js';
export { XdpRunContext, XDP_HELPERS, XDP_ACTION, XDP_PACKET_HEADROOM, XDP_FRAME_SIZE, XDP_TAILROOM, XDP_MAX_DATA, XDP_MD_SIZE, ETH_HLEN } from './xdp.js';
export { SkbRunContext, SKB_HELPERS, SKB, SKB_SIZE, ethTypeTrans } from './skb.js';
export { SKB_RESIZE_HELPERS, changeTail, changeHead, adjustRoom, vlanPush, vlanPop } from './skb-resize.js';
export { NET_HELPERS, csumReplace } from './net-helpers.js';
export { toEthernet } from './to-ethernet.js';
export { BytesRunContext } from './tracing.js';
export type { BytesCtxKind } from './tracing.js';
export { verdictName, passesPacket } from './verdicts.js';
export { TestRunError } from './errors.js';
export { ctxLayout, checkCtxAccess, supportedCtxTypes } from './ctx.js';
export type { CtxField, CtxLayout, CtxAccess, CtxPtrKind } from './ctx.js';
export type { SkbField } from './skb-layout.js';
export { BPF_SOCK, BPF_SOCK_SIZE, BPF_TCP_SOCK, BPF_TCP_SOCK_SIZE, sockAccessOk } from './sock.js';
export type { SockKind } from './sock.js';
export { SOCK_HELPERS, INIT_NET_COOKIE } from './sock-helpers.js';
export { ROUTE_HELPERS, checkMtu, fibLookup, flowHash, BPF_FIB_LKUP_RET, BPF_MTU_CHK_RET, LOOPBACK_MTU } from './route-helpers.js';
export { LOCAL_STORAGE_HELPERS } from './local-storage.js';
export { ECN_HELPERS } from './ecn.js';
