#!/usr/bin/env bash
# Package hygiene, as a user will receive the packages: each publishable package is packed
# (workspace: ranges become versions), checked by publint and are-the-types-wrong, and all
# tarballs are installed into a scratch npm project that imports every entry point and
# runs the evsrc command. Run after the build (`npx -y pnpm@10 check:packages`).
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(core fs-local fs-s3 fs-azure fs-redis store cli)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for p in "${packages[@]}"; do
  (cd "packages/$p" && pnpm pack --pack-destination "$out" >/dev/null)
done
echo "packed: $(cd "$out" && ls)"

for p in "${packages[@]}"; do
  tarball=$(ls "$out"/evsrc-"$p"-*.tgz)
  echo "== @evsrc/$p"
  npx --no-install publint --strict "packages/$p"
  # ESM-only packages: CommonJS resolution is out of scope by design.
  npx --no-install attw "$tarball" --profile esm-only --format table-flipped
done

scratch="$out/scratch"
mkdir -p "$scratch"
cd "$scratch"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-audit --no-fund --silent "$out"/*.tgz
cat > check.mjs <<'JS'
const entries = ['@evsrc/core', '@evsrc/core/adapter', '@evsrc/core/internals', '@evsrc/core/testing', '@evsrc/core/testing/vitest', '@evsrc/fs-local', '@evsrc/fs-s3', '@evsrc/fs-azure', '@evsrc/fs-redis', '@evsrc/store', '@evsrc/cli'];
for (const entry of entries) {
  const module = await import(entry);
  if (Object.keys(module).length === 0) throw new Error(`${entry} exports nothing`);
}
const { openRepository } = await import('@evsrc/store');
const { Aggregate, ChangeEvent, aggregateType } = await import('@evsrc/core');
class Note extends Aggregate { static type = 'note'; text = ''; write(t) { this.raise(new Written(t)); } }
class Written extends ChangeEvent { static type = 'written'; constructor(text) { super(); this.text = text; } applyOn(n) { n.text = this.text; } }
const repository = await openRepository({ aggregates: [aggregateType(Note, { events: [Written] })], store: './store' });
const note = new Note('n'); note.write('packed and installed'); await repository.save(note);
console.log((await repository.get(Note, 'n')).text);
JS
# The conformance suites need vitest and fast-check (optional peers of @evsrc/core).
npm install --no-audit --no-fund --silent vitest@4.1.12 fast-check@4
node check.mjs
npx --no-install evsrc ls ./store
echo "package checks: ${#packages[@]} packages packed, linted, type-checked and installed"
