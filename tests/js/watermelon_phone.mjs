// A "phone" for the sync e2e tests: a stock WatermelonDB (LokiJS adapter, in
// memory) with the client schema of docs/sync.md, synced by WatermelonDB's own
// synchronize() over HTTP. Driven by one JSON command per line on stdin; answers
// one JSON line per command on stdout. Everything else (WatermelonDB's own
// warnings) goes to stderr so stdout stays a clean protocol.
//
// Commands:
//   {"cmd":"configure","base_url":"http://127.0.0.1:8000","token":"...","device_id":"..."}
//   {"cmd":"set_token","token":"..."}
//   {"cmd":"sync"}                      -> {ok:true, pull, push, log} | {ok:false, status, body, message, log}
//   {"cmd":"create","table":"contacts","raw":{"id":"...","first_name":"..."}}
//   {"cmd":"update","table":"contacts","id":"...","raw":{"note":"..."}}
//   {"cmd":"delete","table":"contacts","id":"..."}          (markAsDeleted)
//   {"cmd":"dump"}                      -> {ok:true, tables:{name:[raw, ...]}} (deleted ones as {id,_status})
//   {"cmd":"fail_next","phase":"push"|"pull","when":"before"|"after"}
//   {"cmd":"sync","pause_before_push":true} -> {ok:true, paused:true, pull} once pulled and
//       applied, just before the push; the web may change things then; {"cmd":"resume"} lets
//       the push go and answers what that sync answers (a way to meet the server's 409).
//   {"cmd":"install","without":{"tables":["documents"],"columns":{"contacts":["birthday"]}}}
//       a fresh database of an older app (schema version 1 without those)
//   {"cmd":"upgrade"}                   -> schema version 2 with migrations adding them back
//   {"cmd":"quit"}

import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

// Keep stdout for answers only.
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n')
}

const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const { schemaMigrations, createTable, addColumns } = require('@nozbe/watermelondb/Schema/migrations')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize } = require('@nozbe/watermelondb/sync')

const SCHEMA_VERSION = 1

const str = (name, extra = {}) => ({ name, type: 'string', isOptional: true, ...extra })
const num = (name, extra = {}) => ({ name, type: 'number', isOptional: true, ...extra })
const bool = (name) => ({ name, type: 'boolean', isOptional: true })
const times = [
  { name: 'created_at', type: 'number' },
  { name: 'updated_at', type: 'number' },
]
const versioned = [num('version')]

// docs/sync.md, "Tables and columns the client schema declares".
const TABLES = {
  companies: [
    str('name'), str('group_name'), str('street'), str('postal_code'), str('city'),
    str('country'), num('latitude'), num('longitude'), str('phone'), str('email'),
    str('website'), str('notes'), str('tags'), ...versioned,
  ],
  contacts: [
    str('first_name'), str('last_name'), str('phone'), str('mobile'), str('email'),
    str('street'), str('postal_code'), str('city'), str('country'), num('latitude'),
    num('longitude'), str('note'), str('birthday'), str('website'), ...versioned,
  ],
  employments: [
    str('contact_id', { isIndexed: true }), str('company_id', { isIndexed: true }),
    str('function'), str('phone'), str('mobile'), str('email'), str('start_date'),
    str('end_date'), bool('is_current'), ...versioned,
  ],
  interactions: [
    str('subject'), str('type'), str('status'), num('start_at'), num('end_at'),
    bool('all_day'), str('owner_id', { isIndexed: true }), str('project_id', { isIndexed: true }),
    str('description'), str('contact_ids'), str('company_ids'), str('budget_amount'),
    str('budget_currency'), ...versioned,
  ],
  participants: [str('interaction_id', { isIndexed: true }), str('user_id'), str('status')],
  projects: [
    str('name'), str('description'), str('start_date'), str('end_date'), str('user_ids'),
    str('contact_ids'), str('company_ids'),
  ],
  notes: [
    str('interaction_id', { isIndexed: true }), str('text'), str('author_id'), str('stamp'),
    num('written_at'),
  ],
  documents: [
    str('interaction_id', { isIndexed: true }), str('name'), str('document_type'), str('kind'),
    str('url'), str('content_type'), num('size'),
  ],
  check_ins: [
    str('interaction_id', { isIndexed: true }), str('user_id'), num('latitude'), num('longitude'),
    num('accuracy_m'), str('place_name'), num('distance_m'), num('radius_m'), num('checked_in_at'),
    num('checked_out_at'), num('duration_seconds'),
  ],
  interaction_types: [str('name'), str('statuses'), str('invoice')],
  users: [str('name'), str('time_zone')],
}

// The app's schema: version 1 is every table and column of docs/sync.md. An older app may be
// installed without some of them (`install`), then upgraded to version 2 with WatermelonDB
// migrations that add them (`upgrade`): its next sync then sends WatermelonDB's `migration`.
function tableSchemas(without = {}) {
  const tables = without.tables || []
  const columns = without.columns || {}
  return Object.entries(TABLES)
    .filter(([name]) => !tables.includes(name))
    .map(([name, all]) =>
      tableSchema({
        name,
        columns: [...all, ...times].filter((c) => !(columns[name] || []).includes(c.name)),
      }),
    )
}

function columnSchemas(table, names) {
  return [...TABLES[table], ...times].filter((c) => names.includes(c.name))
}

// Plain Model subclasses, no decorators: records are read and written through _raw.
const modelClasses = Object.keys(TABLES).map((table) => {
  const cls = class extends Model {}
  cls.table = table
  return cls
})

function openDatabase({ version = SCHEMA_VERSION, without = {}, migrations = [] } = {}) {
  const adapter = new LokiJSAdapter({
    schema: appSchema({ version, tables: tableSchemas(without) }),
    migrations: schemaMigrations({ migrations }),
    dbName: 'phone',
    useWebWorker: false,
    useIncrementalIndexedDB: false,
  })
  return new Database({ adapter, modelClasses: modelClasses.filter((m) => !(without.tables || []).includes(m.table)) })
}

let database = openDatabase()
let installedWithout = null // what the installed (older) app lacks, until `upgrade`

async function install(without) {
  database = openDatabase({ without })
  installedWithout = without
  return { ok: true, schema_version: SCHEMA_VERSION }
}

// Version 2: the tables and columns version 1 lacked, added by migrations, on the same data.
async function upgrade() {
  if (!installedWithout) throw new Error('install an older app first')
  const steps = [
    ...(installedWithout.tables || []).map((name) =>
      createTable({ name, columns: [...TABLES[name], ...times] }),
    ),
    ...Object.entries(installedWithout.columns || {}).map(([table, names]) =>
      addColumns({ table, columns: columnSchemas(table, names) }),
    ),
  ]
  const migrations = [{ toVersion: SCHEMA_VERSION + 1, steps }]
  const adapter = await database.adapter.underlyingAdapter.testClone({
    schema: appSchema({ version: SCHEMA_VERSION + 1, tables: tableSchemas() }),
    migrations: schemaMigrations({ migrations }),
  })
  database = new Database({ adapter, modelClasses })
  installedWithout = null
  return { ok: true, schema_version: SCHEMA_VERSION + 1 }
}

const settings = { baseUrl: null, token: null, deviceId: null, appVersion: 'e2e-watermelon-0.28.0' }
let failNext = null // {phase, when}
let lastPull = null
let lastPush = null
let pausedSync = null // {reached: Promise, release: () => void, done: Promise}

class HttpError extends Error {
  constructor(status, body, message) {
    super(message)
    this.status = status
    this.body = body
  }
}

class ConnectionDropped extends Error {}

function headers(extra = {}) {
  return {
    Accept: 'application/json',
    Authorization: `Bearer ${settings.token}`,
    'X-Device-Id': settings.deviceId,
    'X-App-Version': settings.appVersion,
    ...extra,
  }
}

function takeFailure(phase) {
  if (failNext && failNext.phase === phase) {
    const { when } = failNext
    failNext = null
    return when
  }
  return null
}

async function request(phase, url, init) {
  const failure = takeFailure(phase)
  if (failure === 'before') {
    throw new ConnectionDropped(`${phase}: connection failed before the request was sent`)
  }
  const response = await fetch(url, init)
  const text = await response.text()
  if (failure === 'after') {
    // The server has done its work; the answer never reaches the phone.
    throw new ConnectionDropped(`${phase}: connection dropped before the answer arrived`)
  }
  let body = text
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    // not JSON: keep the text
  }
  if (!response.ok) {
    throw new HttpError(response.status, body, `${phase} answered ${response.status}`)
  }
  return body
}

async function pullChanges({ lastPulledAt, schemaVersion, migration }) {
  const params = [
    `last_pulled_at=${lastPulledAt ?? ''}`,
    `schema_version=${schemaVersion}`,
  ]
  if (migration) {
    params.push(`migration=${encodeURIComponent(JSON.stringify(migration))}`)
  }
  const body = await request('pull', `${settings.baseUrl}/api/v1/sync/pull?${params.join('&')}`, {
    method: 'GET',
    headers: headers(),
  })
  lastPull = {
    last_pulled_at: lastPulledAt ?? null,
    schema_version: schemaVersion,
    migration: migration ?? null,
    timestamp: body.timestamp,
    changes: body.changes,
  }
  return { changes: body.changes, timestamp: body.timestamp }
}

async function pushChanges({ changes, lastPulledAt }) {
  if (pausedSync) {
    pausedSync.reach()
    await pausedSync.released
  }
  lastPush = { last_pulled_at: lastPulledAt, changes, answer: undefined }
  const body = await request('push', `${settings.baseUrl}/api/v1/sync/push?last_pulled_at=${lastPulledAt}`, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ changes, last_pulled_at: lastPulledAt }),
  })
  lastPush.answer = body
  // Stock behaviour: whatever the server rejected is marked synced like the
  // rest; the server sends it back as it holds it at the next pull.
}

async function sync() {
  const log = {}
  lastPull = null
  lastPush = null
  try {
    await synchronize({ database, pullChanges, pushChanges, log, migrationsEnabledAtVersion: 1 })
    return { ok: true, pull: lastPull, push: lastPush, log: describeLog(log) }
  } catch (error) {
    return {
      ok: false,
      status: error.status ?? null,
      body: error.body ?? null,
      message: String(error.message || error),
      dropped: error instanceof ConnectionDropped,
      pull: lastPull,
      push: lastPush,
      log: describeLog(log),
    }
  }
}

// A sync that stops just before its push (only if there is something to push), so that a
// test can change the record on the web between this sync's pull and its push.
async function startPausedSync() {
  let reach
  let release
  const reached = new Promise((resolve) => (reach = resolve))
  const released = new Promise((resolve) => (release = resolve))
  pausedSync = { reach, release, released }
  pausedSync.done = sync()
  const first = await Promise.race([reached.then(() => 'paused'), pausedSync.done.then(() => 'done')])
  if (first === 'paused') return { ok: true, paused: true, pull: lastPull }
  const answer = await pausedSync.done
  pausedSync = null
  return { ...answer, paused: false }
}

function describeLog(log) {
  return {
    phase: log.phase ?? null,
    last_pulled_at: log.lastPulledAt ?? null,
    new_last_pulled_at: log.newLastPulledAt ?? null,
    remote_change_count: log.remoteChangeCount ?? null,
    local_change_count: log.localChangeCount ?? null,
    resolved_conflicts: (log.resolvedConflicts || []).length,
  }
}

function collection(table) {
  if (!(table in database.schema.tables)) throw new Error(`no table ${table} in this schema`)
  return database.get(table)
}

async function create(table, raw) {
  const now = Date.now()
  const record = collection(table).prepareCreateFromDirtyRaw({
    created_at: now,
    updated_at: now,
    ...raw,
    _status: 'created',
    _changed: '',
  })
  await database.write(() => database.batch(record))
  return { ok: true, raw: { ...record._raw } }
}

async function update(table, id, raw) {
  const record = await collection(table).find(id)
  await database.write(() =>
    record.update((r) => {
      for (const [column, value] of Object.entries({ updated_at: Date.now(), ...raw })) {
        r._setRaw(column, value)
      }
    }),
  )
  return { ok: true, raw: { ...record._raw } }
}

async function remove(table, id) {
  const record = await collection(table).find(id)
  await database.write(() => record.markAsDeleted())
  return { ok: true }
}

async function dump() {
  const tables = {}
  for (const table of Object.keys(database.schema.tables)) {
    const records = await collection(table).query().fetch()
    const deleted = await database.adapter.getDeletedRecords(table)
    tables[table] = [
      ...records.map((record) => ({ ...record._raw })),
      ...deleted.map((id) => ({ id, _status: 'deleted' })),
    ]
  }
  return { ok: true, tables, last_pulled_at: await lastPulledAt(), schema_version: database.schema.version }
}

async function lastPulledAt() {
  const { getLastPulledAt } = require('@nozbe/watermelondb/sync/impl')
  return (await getLastPulledAt(database)) ?? null
}

async function handle(command) {
  switch (command.cmd) {
    case 'configure':
      settings.baseUrl = command.base_url.replace(/\/$/, '')
      settings.token = command.token
      settings.deviceId = command.device_id
      if (command.app_version) settings.appVersion = command.app_version
      return { ok: true }
    case 'set_token':
      settings.token = command.token
      return { ok: true }
    case 'sync':
      if (command.pause_before_push) return startPausedSync()
      return sync()
    case 'resume': {
      if (!pausedSync) throw new Error('no sync is paused')
      const { release, done } = pausedSync
      release()
      const answer = await done
      pausedSync = null
      return answer
    }
    case 'create':
      return create(command.table, command.raw)
    case 'update':
      return update(command.table, command.id, command.raw)
    case 'delete':
      return remove(command.table, command.id)
    case 'dump':
      return dump()
    case 'fail_next':
      if (!['push', 'pull'].includes(command.phase) || !['before', 'after'].includes(command.when)) {
        throw new Error('fail_next needs phase push|pull and when before|after')
      }
      failNext = { phase: command.phase, when: command.when }
      return { ok: true }
    case 'install':
      return install(command.without || {})
    case 'upgrade':
      return upgrade()
    case 'quit':
      return { ok: true, quit: true }
    default:
      throw new Error(`unknown command ${command.cmd}`)
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let answer
  try {
    answer = await handle(JSON.parse(line))
  } catch (error) {
    answer = { ok: false, error: String(error.message || error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
  if (answer.quit) break
}
process.exit(0)
