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

-- name: schema-v2
-- Study areas (boundary as WKB, EPSG:4326; geodesic and, when given, official areas;
-- population), the store's state counter, and the H3 grid cache keyed by that state.
CREATE SEQUENCE IF NOT EXISTS area_ids START 1;
CREATE TABLE areas (
    id INTEGER PRIMARY KEY DEFAULT nextval('area_ids'),
    name VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL,
    geometry BLOB NOT NULL,
    geodesic_km2 DOUBLE NOT NULL,
    official_km2 DOUBLE,
    population BIGINT,
    population_year INTEGER,
    population_source VARCHAR,
    admin_level INTEGER,
    osm_id BIGINT,
    source VARCHAR NOT NULL,
    credit VARCHAR,
    source_id INTEGER,
    reported_cameras BIGINT,
    reported_source VARCHAR,
    min_lon DOUBLE NOT NULL,
    min_lat DOUBLE NOT NULL,
    max_lon DOUBLE NOT NULL,
    max_lat DOUBLE NOT NULL
);
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO meta VALUES ('state', 1);
CREATE TABLE grid_cache (
    area_id INTEGER NOT NULL,
    res INTEGER NOT NULL,
    state BIGINT NOT NULL,
    h3 VARCHAR NOT NULL,
    cameras INTEGER NOT NULL,
    camera INTEGER NOT NULL,
    "ALPR" INTEGER NOT NULL,
    speed_camera INTEGER NOT NULL,
    guard INTEGER NOT NULL,
    gunshot_detector INTEGER NOT NULL,
    other INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    area_km2 DOUBLE NOT NULL,
    per_km2 DOUBLE
);

-- name: schema-version-add
-- Record that the store has reached schema $version.
-- params: version
-- bind: relation
INSERT INTO schema_version VALUES ($version);

-- name: schema-v3
-- Areas keyed by the OSM element they come from: `osm_type` ('relation' or 'way') beside
-- `osm_id`, and `osm_name`, the element's own name tag, which may repeat (the display `name`
-- stays unique; mapper/areas.py gives the rule). A store from before learns `osm_type` from
-- the source text of fetched areas ('OSM way/...'), and the OSM name of areas read from an
-- extract's relations from their name, less the ' (admin level N)' added to repeated ones.
ALTER TABLE areas ADD COLUMN osm_type VARCHAR;
ALTER TABLE areas ADD COLUMN osm_name VARCHAR;
UPDATE areas
SET osm_type = CASE WHEN source LIKE 'OSM way/%' THEN 'way'
                    WHEN source LIKE 'OSM node/%' THEN 'node'
                    ELSE 'relation' END,
    osm_name = CASE WHEN source NOT LIKE 'OSM %' AND name <> 'relation/' || osm_id
                    THEN regexp_replace(name, ' \(admin level [0-9]+\)$', '') END
WHERE osm_id IS NOT NULL;

-- name: schema-v4
-- Every snapshot kept (mapper/history.py). `snapshot_cameras` holds each source's own copy
-- of each of its cameras, with the element's OSM version and the time it was made
-- (`edited`), whether or not a newer source holds the element; `cameras` stays the store's
-- "now" (the newest copy of each element). A history file's rows are the versions in which
-- an element was a visible camera, each valid from its timestamp to the next version's
-- (`valid_to`, NULL while newest; `ended_by` says whether that next version deleted the
-- element or took its camera tags away). `prior_known`: the version before this one is
-- known (it is version 1, or the history file holds the one before), so `edited` is when
-- it became a camera, not only a date it was a camera by. `snapshot_cover` is the box each
-- snapshot speaks for (its header box, else the box of its nodes): a camera inside it that
-- the snapshot lacks was not there at its date. A store from before keeps what it held:
-- its stored cameras become their sources' snapshot rows (older copies that a newer source
-- had replaced were not kept by earlier versions), each source's box its cover. A row's tags
-- and what the normaliser made of them are one `snapshot_tags` row, shared by every copy
-- tagged alike (`tag_key`: the md5 of that tag set as a number; a full copy per camera cost
-- an ingest of 20,900 cameras 0.2 s more).
CREATE TABLE snapshot_tags (
    tag_key UHUGEINT PRIMARY KEY,
    tags MAP(VARCHAR, VARCHAR) NOT NULL,
    kind VARCHAR NOT NULL,
    visibility VARCHAR NOT NULL,
    camera_type VARCHAR NOT NULL,
    zone VARCHAR,
    mount VARCHAR,
    operator VARCHAR,
    directions DOUBLE[][] NOT NULL,
    direction_invalid BOOLEAN NOT NULL
);
CREATE TABLE snapshot_cameras (
    source_id INTEGER NOT NULL,
    osm_type VARCHAR NOT NULL,
    osm_id BIGINT NOT NULL,
    version INTEGER,
    edited TIMESTAMP,
    prior_known BOOLEAN,
    valid_from TIMESTAMP,
    valid_to TIMESTAMP,
    ended_by VARCHAR,
    lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL,
    tag_key UHUGEINT NOT NULL
);
CREATE TABLE snapshot_cover (
    source_id INTEGER PRIMARY KEY,
    min_lon DOUBLE NOT NULL,
    min_lat DOUBLE NOT NULL,
    max_lon DOUBLE NOT NULL,
    max_lat DOUBLE NOT NULL
);
CREATE TEMP TABLE v4_keyed AS
SELECT md5_number(CAST(to_json({'tags': tags, 'kind': kind, 'visibility': visibility,
                         'camera_type': camera_type, 'zone': zone, 'mount': mount,
                         'operator': operator, 'directions': directions,
                         'direction_invalid': direction_invalid}) AS VARCHAR)) AS tag_key, *
FROM cameras;
INSERT INTO snapshot_tags
SELECT DISTINCT ON (tag_key) tag_key, tags, kind, visibility, camera_type, zone, mount,
       operator, directions, direction_invalid
FROM v4_keyed;
INSERT INTO snapshot_cameras
SELECT source_id, osm_type, osm_id, NULL, NULL, NULL, NULL, NULL, NULL, lat, lon, tag_key
FROM v4_keyed;
DROP TABLE v4_keyed;
INSERT INTO snapshot_cover
SELECT id, min_lon, min_lat, max_lon, max_lat FROM sources
WHERE min_lon IS NOT NULL AND min_lat IS NOT NULL AND max_lon IS NOT NULL
  AND max_lat IS NOT NULL;

-- name: schema-v5
-- H3 cells stored once (mapper/grid.py): `point_cells` holds h3.latlng_to_cell of a camera
-- position at a resolution (5 to 12) as UBIGINT, keyed by the position itself, so that a
-- camera moved by a newer snapshot has no stale cell; `cell_areas` holds h3.cell_area (km²)
-- of each distinct cell. Both are filled on the first use of a resolution (a store from
-- before starts empty) and never change the store's state.
CREATE TABLE point_cells (
    res UTINYINT NOT NULL,
    lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL,
    cell UBIGINT NOT NULL
);
CREATE TABLE cell_areas (cell UBIGINT NOT NULL, area_km2 DOUBLE NOT NULL);

-- name: schema-v6
-- Streets and buildings (mapper/streets.py; read by mapper/sources/streets.py), stored by
-- `camdensity streets FILE`: `street_files` the files read (by sha256), `streets` one row per
-- highway way of the street or walking network (`street`, `walk`: which networks it is in)
-- with its geodesic length, `buildings` one row per building (closed way or multipolygon),
-- both as WKB (EPSG:4326) with their bounding boxes for the choice by area in SQL. A way or
-- building read again from another file replaces the older copy. A file's box (its header
-- box, else the box of its nodes) is the ground its streets speak for: an area gets
-- street figures only when a stored file's box holds the area's box.
CREATE SEQUENCE IF NOT EXISTS street_file_ids START 1;
CREATE TABLE street_files (
    id INTEGER PRIMARY KEY DEFAULT nextval('street_file_ids'),
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    read_at TIMESTAMP NOT NULL,
    streets INTEGER NOT NULL,
    buildings INTEGER NOT NULL,
    skipped_ways INTEGER NOT NULL,
    min_lon DOUBLE,
    min_lat DOUBLE,
    max_lon DOUBLE,
    max_lat DOUBLE
);
CREATE TABLE streets (
    file_id INTEGER NOT NULL,
    osm_id BIGINT NOT NULL,
    highway VARCHAR NOT NULL,
    street BOOLEAN NOT NULL,
    walk BOOLEAN NOT NULL,
    length_m DOUBLE NOT NULL,
    min_lon DOUBLE NOT NULL,
    min_lat DOUBLE NOT NULL,
    max_lon DOUBLE NOT NULL,
    max_lat DOUBLE NOT NULL,
    geometry BLOB NOT NULL
);
CREATE TABLE buildings (
    file_id INTEGER NOT NULL,
    osm_type VARCHAR NOT NULL,
    osm_id BIGINT NOT NULL,
    min_lon DOUBLE NOT NULL,
    min_lat DOUBLE NOT NULL,
    max_lon DOUBLE NOT NULL,
    max_lat DOUBLE NOT NULL,
    geometry BLOB NOT NULL
);

-- name: schema-v7
-- H3 cells as columns of each camera (mapper/grid.py): `cameras.h3_5` to `h3_12` hold
-- h3.latlng_to_cell of the camera's position at that resolution, NULL where not computed
-- yet. A camera row written anew (a newer snapshot) starts without cells, so no cell
-- outlives its position. The cells of `point_cells` (schema v5, keyed by position) move into
-- the columns and the table goes; so do its completeness marks.
ALTER TABLE cameras ADD COLUMN h3_5 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_6 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_7 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_8 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_9 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_10 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_11 UBIGINT;
ALTER TABLE cameras ADD COLUMN h3_12 UBIGINT;
UPDATE cameras c
SET h3_5 = p.h3_5, h3_6 = p.h3_6, h3_7 = p.h3_7, h3_8 = p.h3_8, h3_9 = p.h3_9,
    h3_10 = p.h3_10, h3_11 = p.h3_11, h3_12 = p.h3_12
FROM (
    SELECT lat, lon,
           max(cell) FILTER (WHERE res = 5) AS h3_5, max(cell) FILTER (WHERE res = 6) AS h3_6,
           max(cell) FILTER (WHERE res = 7) AS h3_7, max(cell) FILTER (WHERE res = 8) AS h3_8,
           max(cell) FILTER (WHERE res = 9) AS h3_9, max(cell) FILTER (WHERE res = 10) AS h3_10,
           max(cell) FILTER (WHERE res = 11) AS h3_11, max(cell) FILTER (WHERE res = 12) AS h3_12
    FROM point_cells GROUP BY lat, lon
) p
WHERE p.lat = c.lat AND p.lon = c.lon;
DROP TABLE point_cells;
DELETE FROM meta WHERE key LIKE 'cells-%';
