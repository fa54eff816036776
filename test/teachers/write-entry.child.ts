// Child process for the kill-mid-write test: writes one large cache entry.
// argv: <cache root> <embedding side>. Prints "writing" just before the write.
import { TeacherCache } from "../../lib/teachers/cache";
import { largeOutput, FAKE_KEY } from "./fake-teacher";

const [root, side] = process.argv.slice(2);
const out = largeOutput(Number(side));
process.stdout.write("writing\n");
new TeacherCache(root).write(FAKE_KEY, out);
process.stdout.write("done\n");
