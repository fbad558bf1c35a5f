#!/usr/bin/env python3
"""Fails when a file includes a header of a layer above its own (docs/architecture.md).

The layers, lowest first, are the folders of src/: base < wire < model < {pg, kafka} <
app < cli. pg and kafka are siblings: neither includes the other. A file's layer is
its folder; a public header include/execrec/<m>.h belongs to the layer of src/*/<m>.c.
Public headers include only public headers (they are what an application compiles
against). Tests are above every layer and are not checked.

Usage: check_layers.py [ROOT]   exit 0 clean, 1 violations (listed), 2 usage.
"""
import os
import re
import sys

RANK = {'base': 0, 'wire': 1, 'model': 2, 'pg': 3, 'kafka': 3, 'app': 4, 'cli': 5}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(argv):
    if len(argv) == 2 and argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith('-')):
        print('usage: check_layers.py [ROOT]', file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(__file__), '..', '..')
    src = os.path.join(root, 'src')
    pub = os.path.join(root, 'include', 'execrec')
    if not os.path.isdir(src) or not os.path.isdir(pub):
        print('check_layers: %s has no src/ and include/execrec/' % root, file=sys.stderr)
        return 2

    module_layer = {}
    for layer in os.listdir(src):
        d = os.path.join(src, layer)
        if not os.path.isdir(d):
            continue
        if layer not in RANK:
            print('check_layers: src/%s is not a layer (%s)' % (layer, ', '.join(RANK)),
                  file=sys.stderr)
            return 1
        for f in os.listdir(d):
            if f.endswith('.c') or f.endswith('.h'):
                module_layer.setdefault(f[:-2], layer)

    def target_layer(inc, here):
        head, _, name = inc.rpartition('/')
        if head == 'execrec':
            return module_layer.get(name[:-2]), True
        if head in RANK:
            return head, False
        if head == '':
            return here, False
        return None, False

    problems = []
    files = []
    for layer in sorted(RANK):
        d = os.path.join(src, layer)
        if os.path.isdir(d):
            files += [(os.path.join('src', layer, f), layer, False) for f in sorted(os.listdir(d))]
    files += [(os.path.join('include', 'execrec', f),
               module_layer.get(f[:-2]), True) for f in sorted(os.listdir(pub))]
    for rel, layer, public in files:
        if not (rel.endswith('.c') or rel.endswith('.h')):
            continue
        if layer is None:
            problems.append('%s: public header with no src/*/%s.c to give it a layer'
                            % (rel, os.path.basename(rel)[:-2]))
            continue
        with open(os.path.join(root, rel), encoding='utf-8') as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            tl, tpublic = target_layer(inc, layer)
            if tl is None:
                problems.append('%s: includes "%s", which is in no layer' % (rel, inc))
            elif public and not tpublic:
                problems.append('%s: a public header includes the internal "%s"' % (rel, inc))
            elif RANK[tl] > RANK[layer] or (RANK[tl] == RANK[layer] and tl != layer):
                problems.append('%s (%s) includes "%s" (%s): a layer may include only its own '
                                'or lower ones' % (rel, layer, inc, tl))
    for p in problems:
        print(p)
    if problems:
        print('check_layers: %d violation(s)' % len(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
