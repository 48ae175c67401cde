// The attacker of test/security/rename-race.test.ts: run inside a container that shares the
// victim's rootfs, it swaps the directory DIR/t and the symlink DIR/link (to a host path)
// with renameat2(RENAME_EXCHANGE), as fast as it can, until it is killed. Each swap is atomic:
// at every instant one of the two names is the directory and the other the symlink.
//
//   bun test/security/swap.ts DIR

import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_PATH, RENAME_EXCHANGE } from "../../native/constants.ts";
import { openat, renameat2 } from "../../native/at.ts";

const dir = openat(AT_FDCWD, process.argv[2]!, O_PATH | O_DIRECTORY | O_CLOEXEC);
process.stdout.write("swapping\n");
for (;;) renameat2(dir, "t", dir, "link", RENAME_EXCHANGE);
