-- Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d), as
-- the superuser. One role and one database per Hulei process, each role owning only its own
-- database, CONNECT revoked from everyone else: a process cannot open another's store. The
-- passwords come from the container's environment (PG_PASSWORD_<PROCESS>, from .env), read
-- with psql's \getenv so they never sit in this file. By hand:
--   PG_PASSWORD_GATEWAY=… … psql -v ON_ERROR_STOP=1 -U postgres -f init.sql
\set ON_ERROR_STOP on

\getenv password PG_PASSWORD_GATEWAY
CREATE ROLE gateway LOGIN PASSWORD :'password';
CREATE DATABASE gateway OWNER gateway;
REVOKE ALL ON DATABASE gateway FROM PUBLIC;

\getenv password PG_PASSWORD_SCHOOL_LIAISON
CREATE ROLE school_liaison LOGIN PASSWORD :'password';
CREATE DATABASE school_liaison OWNER school_liaison;
REVOKE ALL ON DATABASE school_liaison FROM PUBLIC;

\getenv password PG_PASSWORD_CASE_TRACKING
CREATE ROLE case_tracking LOGIN PASSWORD :'password';
CREATE DATABASE case_tracking OWNER case_tracking;
REVOKE ALL ON DATABASE case_tracking FROM PUBLIC;

\getenv password PG_PASSWORD_PATROL
CREATE ROLE patrol LOGIN PASSWORD :'password';
CREATE DATABASE patrol OWNER patrol;
REVOKE ALL ON DATABASE patrol FROM PUBLIC;

\getenv password PG_PASSWORD_NOTIFICATIONS
CREATE ROLE notifications LOGIN PASSWORD :'password';
CREATE DATABASE notifications OWNER notifications;
REVOKE ALL ON DATABASE notifications FROM PUBLIC;

-- The superuser's own database is no process's business either.
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
