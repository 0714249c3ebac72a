// The scan/start request built from the form's fields (no DOM here: unit-tested in Node).

/** The scan/start payload of the form's fields (the daemon validates; the page only drops empty fields). */
export function startPayload(f: { name: string; duration: string; counts: string; notes: string }): Record<string, unknown> {
  const p: Record<string, unknown> = { name: f.name.trim() };
  if (f.duration.trim() !== '') p.duration = Number(f.duration);
  if (f.counts.trim() !== '') p.counts = Number(f.counts);
  if (f.notes.trim() !== '') p.notes = f.notes;
  return p;
}
