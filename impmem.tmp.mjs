const mods = process.argv.slice(2)
const fmt = (m) => `rss ${(m.rss/1048576).toFixed(1)} heapT ${(m.heapTotal/1048576).toFixed(1)} heapU ${(m.heapUsed/1048576).toFixed(1)} ab ${(m.arrayBuffers/1048576).toFixed(1)}`
console.log('start', fmt(process.memoryUsage()))
for (const m of mods) { await import(m); console.log(m, fmt(process.memoryUsage())) }
