// The UTS names: the hostname and the NIS domain name of a UTS namespace.
//
// sethostname(2) and setdomainname(2) change the names of the caller's UTS
// namespace, so PID 1 makes them in the container's own (`hostname` needs
// `ns uts`: without it they would be the host's). The kernel takes at most 64
// bytes each (__NEW_UTS_LEN); the checker refuses longer names first. The
// container's /etc/hostname and /etc/hosts are files of the per-container
// directory, which the host rewrites after each `hostname` (runtime/host.ts).

import type { AgentState } from "../../ops.ts";

export function setHostname(st: AgentState, name: string): void {
  st.sys.sethostname(name);
}

export function setDomainname(st: AgentState, name: string): void {
  st.sys.setdomainname(name);
}
