// Run by the mongo-init Job (mongosh --nodb --file). Idempotent: initiates rs0 if needed, waits
// for a primary, then creates or updates one user per Hulei process, each with readWrite on its
// own database only, so a service cannot read another service's store.
const MEMBERS = ['mongo-0.mongo-headless:27017', 'mongo-1.mongo-headless:27017', 'mongo-2.mongo-headless:27017'];
const PROCESSES = ['gateway', 'school_liaison', 'case_tracking', 'patrol', 'notifications'];
const env = process.env;
const root = `${encodeURIComponent(env.MONGO_ROOT_USERNAME)}:${encodeURIComponent(env.MONGO_ROOT_PASSWORD)}`;

function retry(what, fn, attempts = 120) {
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (e) {
      if (i >= attempts) throw e;
      print(`waiting for ${what}: ${e.message}`);
      sleep(5000);
    }
  }
}

// 1. The replica set: initiated from mongo-0, the member that holds the root user.
const first = retry('mongo-0', () => new Mongo(`mongodb://${root}@${MEMBERS[0]}/admin?directConnection=true`));
// mongosh throws when a command answers ok: 0 (it does not return the reply), so "not
// initiated yet" arrives as an exception with code 94, NotYetInitialized.
const NOT_YET_INITIALIZED = 94;
function replicaSetStatus(conn) {
  try {
    return conn.getDB('admin').runCommand({ replSetGetStatus: 1 });
  } catch (e) {
    if (e.code === NOT_YET_INITIALIZED || e.codeName === 'NotYetInitialized') {
      return { ok: 0, code: NOT_YET_INITIALIZED, codeName: 'NotYetInitialized' };
    }
    throw e;
  }
}
function initiate(conn, config) {
  try {
    const r = conn.getDB('admin').runCommand({ replSetInitiate: config });
    if (!r.ok && r.codeName !== 'AlreadyInitialized') throw new Error(r.errmsg);
  } catch (e) {
    if (e.codeName !== 'AlreadyInitialized') throw e;
  }
}
const status = replicaSetStatus(first);
if (status.ok) {
  print('rs0 already initiated');
} else if (status.codeName === 'NotYetInitialized') {
  const config = { _id: 'rs0', members: MEMBERS.map((host, i) => ({ _id: i, host, priority: i === 0 ? 2 : 1 })) };
  retry('all members to be reachable', () => initiate(first, config));
  print('rs0 initiated');
} else {
  throw new Error(`replSetGetStatus: ${status.errmsg}`);
}

// 2. A primary, through the replica-set connection the services will use.
const rs = retry('a primary', () => {
  const conn = new Mongo(`mongodb://${root}@${MEMBERS.join(',')}/admin?replicaSet=rs0`);
  if (!conn.getDB('admin').hello().isWritablePrimary && !conn.getDB('admin').hello().primary) {
    throw new Error('no primary yet');
  }
  return conn;
});

// 3. One user per process, in its own database (the services' URLs authenticate there).
for (const name of PROCESSES) {
  const pwd = env[`MONGO_PASSWORD_${name.toUpperCase()}`];
  if (!pwd) throw new Error(`MONGO_PASSWORD_${name.toUpperCase()} is not set`);
  const db = rs.getDB(name);
  const roles = [{ role: 'readWrite', db: name }];
  if (db.getUser(name)) {
    db.updateUser(name, { pwd, roles });
    print(`user ${name} updated`);
  } else {
    db.createUser({ user: name, pwd, roles });
    print(`user ${name} created`);
  }
}
