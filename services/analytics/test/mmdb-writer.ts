/**
 * Writes a tiny MaxMind DB (.mmdb, format 2.0, IPv4 tree, 24-bit records) that maps one IPv4
 * network to one record, so tests read a real database file through the real `maxmind` reader.
 * Format: https://maxmind.github.io/MaxMind-DB/
 */
type Value = string | number | Value[] | { [key: string]: Value }

const control = (type: number, size: number): Buffer =>
  type <= 7 ? Buffer.from([(type << 5) | size]) : Buffer.from([size, type - 7])

function uint(value: number, type: 5 | 6 | 9): Buffer {
  const bytes: number[] = []
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256)
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)])
}

function encode(value: Value): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([control(2, bytes.length), bytes])
  }
  if (typeof value === 'number') return uint(value, 6)
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encode)])
  const entries = Object.entries(value)
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])])
}

const record24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])

export function writeMmdb(network: string, prefixLength: number, data: Value): Buffer {
  const bits = network
    .split('.')
    .flatMap((octet) => Number(octet).toString(2).padStart(8, '0').split(''))
    .slice(0, prefixLength)
    .map(Number)
  const nodeCount = prefixLength
  const noData = nodeCount
  const dataPointer = nodeCount + 16 // the record sits at offset 0 of the data section
  const tree = bits.map((bit, i) => {
    const next = i === prefixLength - 1 ? dataPointer : i + 1
    return Buffer.concat(bit === 0 ? [record24(next), record24(noData)] : [record24(noData), record24(next)])
  })
  const metadata = Buffer.concat([
    control(7, 9),
    encode('node_count'),
    uint(nodeCount, 6),
    encode('record_size'),
    uint(24, 5),
    encode('ip_version'),
    uint(4, 5),
    encode('database_type'),
    encode('Test-City'),
    encode('languages'),
    encode(['en']),
    encode('binary_format_major_version'),
    uint(2, 5),
    encode('binary_format_minor_version'),
    uint(0, 5),
    encode('build_epoch'),
    uint(Math.floor(Date.now() / 1000), 9),
    encode('description'),
    encode({ en: 'test database' }),
  ])
  return Buffer.concat([
    ...tree,
    Buffer.alloc(16),
    encode(data),
    Buffer.from([0xab, 0xcd, 0xef]),
    Buffer.from('MaxMind.com', 'ascii'),
    metadata,
  ])
}
