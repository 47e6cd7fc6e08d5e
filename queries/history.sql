-- name: snapshot-tags-insert
-- The staged tag sets (queries/ingest.sql: staged_sets) that the store does not hold yet,
-- each keyed by an md5 of its JSON (its tags and what the normaliser made of them).
INSERT OR IGNORE INTO snapshot_tags
WITH sets AS (
    SELECT unnest(CAST(sets AS JSON[])) AS j
    FROM (SELECT CAST(CAST(sets AS VARCHAR) AS JSON) AS sets FROM staged_sets)
)
SELECT md5_number(CAST(j AS VARCHAR)), CAST(j -> 'tags' AS MAP(VARCHAR, VARCHAR)),
       j ->> 'kind', j ->> 'visibility', j ->> 'camera_type', j ->> 'zone', j ->> 'mount', j ->> 'operator',
       CAST(j -> 'directions' AS DOUBLE[][]), CAST(j ->> 'direction_invalid' AS BOOLEAN)
FROM sets;

-- name: snapshot-insert-staged
-- Keep a source's own copy of each staged camera (mapper/history.py): the staged rows
-- (queries/ingest.sql: staged_rows) with their tag set's key, joined on the row number to
-- what the snapshot adds (snapshot_rows: version, edit time, validity of a history file's
-- versions as microseconds since 1970, how a run of them ended: 1 deleted, 2 untagged).
-- Version 0 and time 0 mean the input did not say (stored as NULL), as does `ended` 0.
-- params: source_id
-- bind: relation
INSERT INTO snapshot_cameras
WITH sets AS (
    SELECT unnest(range(CAST(json_array_length(sets) AS BIGINT))) AS tag_set,
           unnest(CAST(sets AS JSON[])) AS j
    FROM (SELECT CAST(CAST(sets AS VARCHAR) AS JSON) AS sets FROM staged_sets)
),
keys AS MATERIALIZED (SELECT tag_set, md5_number(CAST(j AS VARCHAR)) AS tag_key FROM sets)
SELECT $source_id, CAST(r.osm_type AS VARCHAR), r.osm_id,
       nullif(CAST(x.version AS INTEGER), 0),
       make_timestamp(CASE WHEN x.edited_us > 0 THEN x.edited_us END),
       CASE WHEN x.version <> 0 THEN x.prior_known END,
       make_timestamp(CASE WHEN x.from_us > 0 THEN x.from_us END),
       make_timestamp(CASE WHEN x.to_us > 0 THEN x.to_us END),
       CASE x.ended WHEN 1 THEN 'deleted' WHEN 2 THEN 'untagged' END, r.lat, r.lon, k.tag_key
FROM staged_rows r JOIN snapshot_rows x ON x.seq = r.seq JOIN keys k USING (tag_set);

-- name: cameras-drop-covered
-- "Now" is the newest snapshot of each place: a stored camera goes when a newer dated source
-- covers its position (snapshot_cover) or knows the element (a history file that deleted
-- it), and does not hold it now (an undated source is older than any dated one; a tie
-- drops nothing). Run after each source is kept, so the order of ingests does not matter.
-- Joins, not correlated subqueries: with no newer source the first join is empty.
DELETE FROM cameras AS cam
USING (
    SELECT c.osm_type, c.osm_id, c.source_id
    FROM cameras c
    JOIN sources cs ON cs.id = c.source_id
    JOIN sources s ON s.snapshot IS NOT NULL AND (cs.snapshot IS NULL OR s.snapshot > cs.snapshot)
    LEFT JOIN snapshot_cover v ON v.source_id = s.id
    LEFT JOIN (SELECT DISTINCT source_id, osm_type, osm_id FROM snapshot_cameras) kn
           ON kn.source_id = s.id AND kn.osm_type = c.osm_type AND kn.osm_id = c.osm_id
    LEFT JOIN (SELECT DISTINCT source_id, osm_type, osm_id FROM snapshot_cameras
               WHERE valid_to IS NULL) cur
           ON cur.source_id = s.id AND cur.osm_type = c.osm_type AND cur.osm_id = c.osm_id
    WHERE cur.source_id IS NULL
      AND (kn.source_id IS NOT NULL
           OR (c.lon BETWEEN v.min_lon AND v.max_lon AND c.lat BETWEEN v.min_lat AND v.max_lat))
) gone
WHERE cam.osm_type = gone.osm_type AND cam.osm_id = gone.osm_id
  AND cam.source_id = gone.source_id;

-- name: snapshot-cover-insert
-- The box a snapshot speaks for.
-- params: source_id, min_lon, min_lat, max_lon, max_lat
-- bind: relation
INSERT INTO snapshot_cover VALUES ($source_id, $min_lon, $min_lat, $max_lon, $max_lat);

-- name: macro-cameras-at
-- The store's cameras as of a moment `d` (a TIMESTAMP, UTC), in the columns of `cameras`.
-- Each dated source stands for its snapshot date; a history file (format 'osm-history') for
-- any moment up to its own date, through the version valid then. Of the sources that stand
-- at `d`, the one with the newest date wins each element (a tie: the later ingest): a copy
-- is left out when a newer source holds the same element (in any version) or covers its
-- position (snapshot_cover) without it. Undated sources take no part in history.
CREATE OR REPLACE TEMP MACRO cameras_at(d) AS TABLE
WITH src AS MATERIALIZED (
    SELECT s.id, CASE WHEN s.format = 'osm-history' THEN least(s.snapshot, d) ELSE s.snapshot END
               AS eff,
           v.min_lon, v.min_lat, v.max_lon, v.max_lat
    FROM sources s LEFT JOIN snapshot_cover v ON v.source_id = s.id
    WHERE s.snapshot IS NOT NULL AND (s.format = 'osm-history' OR s.snapshot <= d)
),
copies AS MATERIALIZED (
    SELECT k.*, src.eff
    FROM snapshot_cameras k JOIN src ON src.id = k.source_id
    WHERE k.valid_from IS NULL OR (k.valid_from <= d AND (k.valid_to IS NULL OR k.valid_to > d))
),
known AS MATERIALIZED (
    SELECT DISTINCT k.source_id, k.osm_type, k.osm_id, src.eff
    FROM snapshot_cameras k JOIN src ON src.id = k.source_id
)
SELECT c.osm_type, c.osm_id, c.lat, c.lon, t.tags, t.kind, t.visibility, t.camera_type,
       t.zone, t.mount, t.operator, t.directions, t.direction_invalid, c.source_id,
       -- the cells (h3_5 to h3_12) are computed on the connection (mapper/grid.py)
       NULL::UBIGINT AS h3_5, NULL::UBIGINT AS h3_6, NULL::UBIGINT AS h3_7,
       NULL::UBIGINT AS h3_8, NULL::UBIGINT AS h3_9, NULL::UBIGINT AS h3_10,
       NULL::UBIGINT AS h3_11, NULL::UBIGINT AS h3_12
FROM copies c JOIN snapshot_tags t USING (tag_key)
WHERE NOT EXISTS (
        SELECT 1 FROM known n
        WHERE n.osm_type = c.osm_type AND n.osm_id = c.osm_id
          AND (n.eff > c.eff OR (n.eff = c.eff AND n.source_id > c.source_id))
      )
  AND NOT EXISTS (
        SELECT 1 FROM src s2
        WHERE (s2.eff > c.eff OR (s2.eff = c.eff AND s2.id > c.source_id))
          AND c.lon BETWEEN s2.min_lon AND s2.max_lon
          AND c.lat BETWEEN s2.min_lat AND s2.max_lat
      );

-- name: history-as-of
-- The connection's `cameras` become the store's cameras as of $at (a temporary table that
-- hides the stored table for this connection only; the store is not written).
-- params: at
CREATE OR REPLACE TEMP TABLE cameras AS
SELECT * FROM cameras_at(CAST($at AS TIMESTAMP));

-- name: history-moments
-- The dated sources, oldest first: each one's date, format, and the box it speaks for (its
-- cover, else the box of its own cameras); a history file's first camera version too.
SELECT s.id, s.path, s.format, s.snapshot,
       coalesce(v.min_lon, b.min_lon) AS min_lon, coalesce(v.min_lat, b.min_lat) AS min_lat,
       coalesce(v.max_lon, b.max_lon) AS max_lon, coalesce(v.max_lat, b.max_lat) AS max_lat,
       b.first_version
FROM sources s
LEFT JOIN snapshot_cover v ON v.source_id = s.id
LEFT JOIN (
    SELECT source_id, min(lon) AS min_lon, min(lat) AS min_lat, max(lon) AS max_lon,
           max(lat) AS max_lat, min(valid_from) AS first_version
    FROM snapshot_cameras GROUP BY source_id
) b ON b.source_id = s.id
WHERE s.snapshot IS NOT NULL
ORDER BY s.snapshot, s.id;

-- name: history-area-state
-- The cameras inside an area now (after history-as-of: as of that moment), with what a
-- series and a diff need.
-- params: area_id
SELECT osm_type, osm_id, lat, lon, tags, visibility, camera_type, len(directions) > 0 AS aimed,
       source_id
FROM area_cameras($area_id)
ORDER BY osm_type, osm_id;

-- name: history-store-state
-- Every camera of the store now (after history-as-of: as of that moment).
SELECT osm_type, osm_id, lat, lon, tags, visibility, camera_type, len(directions) > 0 AS aimed,
       source_id
FROM cameras
ORDER BY osm_type, osm_id;

-- name: history-first-mapped
-- Per element, the earliest time a copy shows it as a camera, and whether that is when it
-- was mapped (`prior_known`: version 1, or a history file holding the version before) or
-- only a date it was mapped by. NULL `edited`: the input did not say.
SELECT osm_type, osm_id,
       min(coalesce(valid_from, edited)) AS first_seen,
       bool_or(prior_known AND coalesce(valid_from, edited) = first_edit) AS exact
FROM (
    SELECT *, min(coalesce(valid_from, edited)) OVER (PARTITION BY osm_type, osm_id)
              AS first_edit
    FROM snapshot_cameras
)
GROUP BY osm_type, osm_id;

-- name: history-ended
-- Cameras a history file shows deleted or untagged: when, and which.
SELECT osm_type, osm_id, max(valid_to) AS ended, arg_max(ended_by, valid_to) AS ended_by
FROM snapshot_cameras
WHERE valid_from IS NOT NULL
GROUP BY osm_type, osm_id
HAVING count(*) FILTER (WHERE valid_to IS NULL) = 0;
