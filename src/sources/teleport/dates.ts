// the export's UTC dates (YYYY-MM-DD) and their epoch ms: pure.

export const DAY = 86_400_000;

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const dateMs = (iso: string): number => Date.parse(`${iso}T00:00:00.000Z`);
export const addDays = (iso: string, n: number): string => isoDate(dateMs(iso) + n * DAY);
