-- One database per service: each service owns its data and no other service
-- reads it. The postgres image runs this once, as POSTGRES_USER (who so owns
-- the databases), when it initialises an empty data volume. A database added
-- here later must be created by hand on an existing volume.
CREATE DATABASE hazard;
CREATE DATABASE checklist;
CREATE DATABASE scoring;
CREATE DATABASE notify;
CREATE DATABASE enforcement;
