// Child process for the cross-process race: creates each name, prints which it won.
import { LocalFileSystem } from '@evsrc/fs-local';

const [root, tag, count] = process.argv.slice(2);
const fs = new LocalFileSystem({ root });
const won = [];
await Promise.all(
  Array.from({ length: Number(count) }, async (_, i) => {
    try {
      await fs.create(`race/${i}`, new TextEncoder().encode(tag));
      won.push(i);
    } catch (error) {
      if (error?.code !== 'EVSRC_FILE_EXISTS') throw error;
    }
  }),
);
process.stdout.write(JSON.stringify(won));
