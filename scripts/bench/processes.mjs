// Child processes for the benchmark: start, wait for /readyz, read resident memory, stop.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

export async function waitReady(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`)
}

const running = new Set()
// Never leave a service behind, whatever ends the benchmark.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Spawns `node file` and resolves once `readyUrl` answers 200, with the time that took. */
export async function startProcess(file, env, readyUrl) {
  const started = performance.now()
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  running.add(child)
  child.on('exit', () => running.delete(child))
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
  })
  child.on('exit', (code) => {
    if (code && code !== 0) process.stderr.write(`${file} exited ${code}\n${stderr}`)
  })
  await waitReady(readyUrl)
  return { child, readyMs: performance.now() - started }
}

export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

export function stopProcess(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode)
    child.once('exit', (code) => resolve(code))
    child.kill('SIGTERM')
  })
}
