// Loss accounting for one stream of numbered packets (a gemroc board's packet number): a forward jump of k
// means k-1 packets lost; a number at or below the last one is out of order (duplicate, reordering or a board
// restart) and resynchronises the count from there.

export class SequenceCounter {
  last: number | undefined;
  received = 0;
  lost = 0;
  outOfOrder = 0;

  observe(n: number): void {
    this.received++;
    if (this.last !== undefined) {
      if (n > this.last) this.lost += n - this.last - 1;
      else this.outOfOrder++;
    }
    this.last = n;
  }
}
