# Packs gemxrf datasets compactly for the trip to the GPU machine: spectra as uint16 (exact: integer counts
# below 65536), everything gzip'd. unpack() on the other side restores float32 npy files train.py reads.
import gzip, json, os, shutil, sys
import numpy as np

def pack(src, dst):
    os.makedirs(dst, exist_ok=True)
    s = np.load(os.path.join(src, 'spectra.npy'))
    assert s.max() < 65536 and (s == np.round(s)).all()
    for name, arr in (('spectra.npy', s.astype(np.uint16)), ('fractions.npy', np.load(os.path.join(src, 'fractions.npy'))), ('presence.npy', np.load(os.path.join(src, 'presence.npy')))):
        with gzip.open(os.path.join(dst, name + '.gz'), 'wb', compresslevel=6) as f:
            np.save(f, arr)
    shutil.copy(os.path.join(src, 'meta.json'), dst)

def unpack(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in ('spectra.npy', 'fractions.npy', 'presence.npy'):
        with gzip.open(os.path.join(src, name + '.gz'), 'rb') as f:
            arr = np.load(f)
        if name == 'spectra.npy':
            arr = arr.astype(np.float32)
        np.save(os.path.join(dst, name), arr)
    shutil.copy(os.path.join(src, 'meta.json'), dst)

def merge(dsts, out):
    os.makedirs(out, exist_ok=True)
    for name in ('spectra.npy', 'fractions.npy', 'presence.npy'):
        np.save(os.path.join(out, name), np.concatenate([np.load(os.path.join(d, name)) for d in dsts]))
    metas = [json.load(open(os.path.join(d, 'meta.json'))) for d in dsts]
    m = dict(metas[0]); m['n'] = sum(x['n'] for x in metas); m['parts'] = [{'seed': x['seed'], 'n': x['n'], 'shift': x['shift']} for x in metas]
    m['seeds'] = [x['seed'] for x in metas]
    json.dump(m, open(os.path.join(out, 'meta.json'), 'w'))

if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'pack': pack(sys.argv[2], sys.argv[3])
    elif cmd == 'unpack': unpack(sys.argv[2], sys.argv[3])
    elif cmd == 'merge': merge(sys.argv[2:-1], sys.argv[-1])
