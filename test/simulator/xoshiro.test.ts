// simulator/generators/xoshiro.ts must give createRng's numbers exactly (the hit generator's output depends on it).
import assert from 'node:assert/strict';
import { createRng } from '../../physics/random.js';
import { Xoshiro128 } from '../../simulator/generators/xoshiro.js';

describe('simulator/Xoshiro128 equals physics createRng', () => {
  it('same sequence for mixed next/uint32/int/normal/poisson calls, several seeds', () => {
    for (const seed of [0, 1, 2, 0x5bd1e995, 0xffffffff, 123.456, -7]) {
      const a = new Xoshiro128(seed), b = createRng(seed);
      for (let i = 0; i < 20_000; i++) {
        const op = i % 7;
        const va = op === 0 ? a.next() : op === 1 ? a.uint32() : op === 2 ? a.int(1000) : op === 3 || op === 4 ? a.normal() : op === 5 ? a.poisson(3.7) : a.poisson(((i % 5) + 1) * 40.5);
        const vb = op === 0 ? b.next() : op === 1 ? b.uint32() : op === 2 ? b.int(1000) : op === 3 || op === 4 ? b.normal() : op === 5 ? b.poisson(3.7) : b.poisson(((i % 5) + 1) * 40.5);
        assert.ok(Object.is(va, vb), `seed ${seed} call ${i} (op ${op}): ${va} vs ${vb}`);
      }
    }
  });
});
