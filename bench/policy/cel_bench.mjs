// cel_bench.mjs: the same policies in CEL, evaluated by @marcbachmann/cel-js on the same object:
// median CPU time per object (every matching rule, plus the shared variables).
import { readFileSync } from 'node:fs'
import { Environment } from '@marcbachmann/cel-js'
import { rules, variables } from './cel_rules.mjs'

const [file, roundsArg, perArg] = process.argv.slice(2)
const rounds = Number(roundsArg || 101), per = Number(perArg || 300)
const object = JSON.parse(readFileSync(file, 'utf8'))
const request = { operation: 'CREATE', userInfo: { username: 'ci', groups: [] } }
const params = {
  images: { allowedRegistries: [], requireDigest: false },
  secrets: { exemptUsers: ['system:kube-controller-manager', 'system:serviceaccount:kube-system:*'], exemptTypes: ['kubernetes.io/service-account-token', 'helm.sh/release.v1', 'bootstrap.kubernetes.io/token'], minSecretLength: 12, minEntropy: 3.0 },
}
// What CEL lacks and VAP authors would need: Shannon entropy and the sealed-value test.
function entropy (s) {
  const n = new Map()
  for (const ch of s) n.set(ch, (n.get(ch) || 0) + 1)
  let h = 0
  for (const c of n.values()) { const p = c / s.length; h -= p * Math.log2(p) }
  return h
}
const env = new Environment({ unlistedVariablesAreDyn: true })
  .registerFunction('entropy(string): double', entropy)
  .registerFunction('isSealed(string): bool', s => s.startsWith('sg1:') || Buffer.from(s.slice(0, 8), 'base64').toString('latin1').startsWith('sg1:'))
const compiled = rules.filter(r => !r.kinds || r.kinds.includes(object.kind)).map(r => ({ id: r.id, fn: env.parse(r.expr) }))
const vars = Object.entries(variables).map(([name, expr]) => [name, env.parse(expr)])

function evalObject () {
  const ctx = { object, request, params }
  for (const [name, fn] of vars) ctx[name] = fn(ctx)
  const denied = []
  for (const r of compiled) if (r.fn(ctx) === true) denied.push(r.id)
  return denied
}
let denied = evalObject()
for (let i = 0; i < 2000; i++) evalObject()
const cpu = [], wall = []
for (let r = 0; r < rounds; r++) {
  const c0 = process.cpuUsage(), w0 = process.hrtime.bigint()
  for (let i = 0; i < per; i++) denied = evalObject()
  const c1 = process.cpuUsage(c0)
  cpu.push((c1.user + c1.system) * 1000 / per)
  wall.push(Number(process.hrtime.bigint() - w0) / per)
}
cpu.sort((a, b) => a - b); wall.sort((a, b) => a - b)
console.log(JSON.stringify({ median_cpu_ns: Math.round(cpu[rounds >> 1]), p10_cpu_ns: Math.round(cpu[Math.floor(rounds / 10)]), p90_cpu_ns: Math.round(cpu[Math.floor(rounds * 9 / 10)]), median_wall_ns: Math.round(wall[rounds >> 1]), rules: compiled.length, findings: denied.length, denied }))
