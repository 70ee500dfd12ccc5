#!/usr/bin/env python3
"""Rewrites every ```ts block that follows a `<!-- sample: path -->` marker in README.md and
docs/**/*.md with the current content of that file. The integration test fails when they differ."""
import glob, re, sys, os
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The block's body never contains a fence, so an empty or broken block cannot swallow the next one.
pattern = re.compile(r'(<!-- sample: (\S+) -->\n```ts\n)((?:(?!```)[\s\S])*?)(\n?```)')
for md in [os.path.join(root, 'README.md')] + sorted(glob.glob(os.path.join(root, 'docs', '**', '*.md'), recursive=True)):
    text = open(md).read()
    new = pattern.sub(lambda m: m.group(1) + open(os.path.join(root, m.group(2))).read().rstrip('\n') + m.group(4), text)
    if new != text:
        open(md, 'w').write(new)
        print('synced', os.path.relpath(md, root))
