-- name: source-hashes
-- The sha256 of every input already in the store.
SELECT sha256 FROM sources;

-- name: source-insert
-- Record one input; returns its id.
-- params: path, sha256, format, snapshot, snapshot_kind, cameras, skipped_ways, rejected, min_lon, min_lat, max_lon, max_lat
INSERT INTO sources (path, sha256, format, snapshot, snapshot_kind, ingested_at, cameras,
                     skipped_ways, rejected, min_lon, min_lat, max_lon, max_lat)
VALUES ($path, $sha256, $format, CAST($snapshot AS TIMESTAMP), $snapshot_kind,
        CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP), $cameras, $skipped_ways, $rejected,
        $min_lon, $min_lat, $max_lon, $max_lat)
RETURNING id;

-- name: cameras-drop-superseded
-- One element once: drop stored copies of the staged elements whose source is not newer.
-- A stored copy survives only when its source has a snapshot newer than the new one's
-- (an undated source is older than any dated one; on a tie the later ingest wins).
-- params: snapshot
DELETE FROM cameras
WHERE EXISTS (
        SELECT 1 FROM staged s WHERE s.osm_type = cameras.osm_type AND s.osm_id = cameras.osm_id
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
INSERT INTO cameras
SELECT s.osm_type, s.osm_id, s.lat, s.lon, s.tags, s.kind, s.visibility, s.camera_type,
       s.zone, s.mount, s.operator, s.directions, s.direction_invalid, $source_id
FROM staged s
WHERE NOT EXISTS (
    SELECT 1 FROM cameras c WHERE c.osm_type = s.osm_type AND c.osm_id = s.osm_id
);
