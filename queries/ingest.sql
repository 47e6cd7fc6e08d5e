-- name: source-hashes
-- The sha256 of every input already in the store.
SELECT sha256 FROM sources;

-- name: source-insert
-- Record one input; returns its id.
-- params: path, sha256, format, snapshot, snapshot_kind, cameras, skipped_ways, rejected, min_lon, min_lat, max_lon, max_lat
-- bind: relation
INSERT INTO sources (path, sha256, format, snapshot, snapshot_kind, ingested_at, cameras,
                     skipped_ways, rejected, min_lon, min_lat, max_lon, max_lat)
VALUES ($path, $sha256, $format, CAST($snapshot AS TIMESTAMP), $snapshot_kind,
        CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP), $cameras, $skipped_ways, $rejected,
        $min_lon, $min_lat, $max_lon, $max_lat)
RETURNING id;

-- name: staged-create
-- The cameras of one input, for the queries below: one row per camera (staged_rows: type,
-- id, position, index of its tag set) joined to its distinct tag set (staged_sets: one
-- JSON array with, per set, the tags and what the normaliser made of them). A view: the
-- insert reads it once, nothing is copied before. Text from NumPy arrives as an ENUM: cast
-- back to VARCHAR.
CREATE OR REPLACE TEMP VIEW staged AS
WITH sets AS (
    SELECT unnest(range(CAST(json_array_length(sets) AS BIGINT))) AS tag_set,
           unnest(CAST(sets AS JSON[])) AS j
    FROM (SELECT CAST(CAST(sets AS VARCHAR) AS JSON) AS sets FROM staged_sets)
),
normalised AS MATERIALIZED (  -- once per tag set, not once per camera
    SELECT tag_set,
           CAST(j -> 'tags' AS MAP(VARCHAR, VARCHAR)) AS tags,
           j ->> 'kind' AS kind,
           j ->> 'visibility' AS visibility,
           j ->> 'camera_type' AS camera_type,
           j ->> 'zone' AS zone,
           j ->> 'mount' AS mount,
           j ->> 'operator' AS operator,
           CAST(j -> 'directions' AS DOUBLE[][]) AS directions,
           CAST(j ->> 'direction_invalid' AS BOOLEAN) AS direction_invalid
    FROM sets
)
SELECT CAST(r.osm_type AS VARCHAR) AS osm_type, r.osm_id, r.lat, r.lon, n.tags, n.kind,
       n.visibility, n.camera_type, n.zone, n.mount, n.operator, n.directions,
       n.direction_invalid
FROM staged_rows r JOIN normalised n USING (tag_set)
ORDER BY r.seq;

-- name: staged-select
-- The staged cameras, as the store will get them (for tests and tools).
SELECT * FROM staged ORDER BY osm_type, osm_id;

-- name: cameras-drop-superseded
-- One element once: drop stored copies of the staged elements whose source is not newer.
-- A stored copy survives only when its source has a snapshot newer than the new one's
-- (an undated source is older than any dated one; on a tie the later ingest wins).
-- params: snapshot
-- bind: relation
DELETE FROM cameras
WHERE EXISTS (
        SELECT 1 FROM staged_rows s
        WHERE CAST(s.osm_type AS VARCHAR) = cameras.osm_type AND s.osm_id = cameras.osm_id
      )
  AND NOT EXISTS (
        SELECT 1 FROM sources src
        WHERE src.id = cameras.source_id
          AND src.snapshot IS NOT NULL
          AND (CAST($snapshot AS TIMESTAMP) IS NULL OR src.snapshot > CAST($snapshot AS TIMESTAMP))
      );

-- name: cameras-insert-staged
-- Insert the staged cameras that no newer source already holds; returns how many.
-- params: source_id
-- bind: relation
INSERT INTO cameras (osm_type, osm_id, lat, lon, tags, kind, visibility, camera_type, zone,
                     mount, operator, directions, direction_invalid, source_id)
SELECT s.osm_type, s.osm_id, s.lat, s.lon, s.tags, s.kind, s.visibility, s.camera_type,
       s.zone, s.mount, s.operator, s.directions, s.direction_invalid, $source_id
FROM staged s
WHERE NOT EXISTS (
    SELECT 1 FROM cameras c WHERE c.osm_type = s.osm_type AND c.osm_id = s.osm_id
);

-- name: staged-drop
-- Done with the staged cameras.
DROP VIEW IF EXISTS staged;
