-- name: schema-v1
-- The first schema: sources, cameras and the schema version.
-- Coordinates are WGS84 degrees; `tags` keeps every raw OSM tag; the normalised columns
-- come from mapper/tags.py. An OSM element appears once (enforced by ingest, see
-- queries/ingest.sql); the source that holds the newest snapshot wins.
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE SEQUENCE IF NOT EXISTS source_ids START 1;
CREATE TABLE sources (
    id INTEGER PRIMARY KEY DEFAULT nextval('source_ids'),
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    format VARCHAR NOT NULL,
    snapshot TIMESTAMP,
    snapshot_kind VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    cameras INTEGER NOT NULL,
    skipped_ways INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    min_lon DOUBLE,
    min_lat DOUBLE,
    max_lon DOUBLE,
    max_lat DOUBLE
);
CREATE TABLE cameras (
    osm_type VARCHAR NOT NULL,
    osm_id BIGINT NOT NULL,
    lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL,
    tags MAP(VARCHAR, VARCHAR) NOT NULL,
    kind VARCHAR NOT NULL,
    visibility VARCHAR NOT NULL,
    camera_type VARCHAR NOT NULL,
    zone VARCHAR,
    mount VARCHAR,
    operator VARCHAR,
    directions DOUBLE[][] NOT NULL,
    direction_invalid BOOLEAN NOT NULL,
    source_id INTEGER NOT NULL
);
