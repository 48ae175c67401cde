// The /etc/passwd and /etc/group of a root filesystem ctr builds (build.ts), in a
// module of their own: the planner checks `user` names against them (security/user.ts)
// without loading the builder.

export const BUILT_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
export const BUILT_GROUP = "root:x:0:\nnogroup:x:65534:\n";
