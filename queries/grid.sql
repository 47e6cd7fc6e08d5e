-- name: cells-prepare
-- The cell areas a connection reads: those stored (`cell_areas`, schema v5) and those
-- computed on this connection and not yet stored (a temporary table, filled by
-- mapper/grid.py); and the cells computed on this connection for the store's cameras that
-- lack them (`fresh_cells`, one row per camera and resolution). And `kind_counts(kind)`, the
-- cameras of a group by kind (mapper/tags.py KINDS) as one struct, which `unnest` makes into
-- a column per kind (as fast as the seven counts written out: 0.16 s on 1M cameras).
CREATE OR REPLACE TEMP MACRO kind_counts(k) AS struct_pack(
    camera := count(*) FILTER (WHERE k = 'camera'),
    "ALPR" := count(*) FILTER (WHERE k = 'ALPR'),
    speed_camera := count(*) FILTER (WHERE k = 'speed_camera'),
    guard := count(*) FILTER (WHERE k = 'guard'),
    gunshot_detector := count(*) FILTER (WHERE k = 'gunshot_detector'),
    other := count(*) FILTER (WHERE k = 'other'),
    unknown := count(*) FILTER (WHERE k = 'unknown')
);
CREATE TEMP TABLE IF NOT EXISTS fresh_areas (cell UBIGINT NOT NULL, area_km2 DOUBLE NOT NULL);
CREATE OR REPLACE TEMP VIEW known_areas AS
SELECT cell, area_km2 FROM cell_areas
UNION ALL
SELECT cell, area_km2 FROM fresh_areas;
CREATE TEMP TABLE IF NOT EXISTS fresh_cells (
    osm_type VARCHAR NOT NULL, osm_id BIGINT NOT NULL, lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL, res UTINYINT NOT NULL, cell UBIGINT NOT NULL
);

-- name: cells-complete
-- Whether every occupied cell at a resolution has its area (key 'cell-areas-R'): true when
-- the key records the store's current state (mapper/grid.py writes it when it keeps the
-- areas; it asks only on a connection that reads the store's own cameras, `cells-own`);
-- and that state.
-- params: key
-- bind: relation
SELECT EXISTS (
           SELECT 1 FROM meta m
           WHERE m.key = $key AND m.value = (SELECT value FROM meta WHERE key = 'state')
       ) AS complete,
       (SELECT value FROM meta WHERE key = 'state') AS state;

-- name: cells-mark-complete
-- Record that every occupied cell had its area under key $key in store state $state.
-- params: key, state
-- bind: relation
INSERT OR REPLACE INTO meta VALUES ($key, $state);

-- name: cells-missing
-- The cameras of the connection without a cell in column {cell} (h3_5 to h3_12).
-- idents: cell
SELECT osm_type, osm_id, lat, lon FROM cameras WHERE {cell} IS NULL;

-- name: cells-missing-rows
-- `cells-missing` with each row's rowid, for `cells-fill-rows` on the same connection (a
-- table, not the view of `cells-view`).
-- idents: cell
SELECT rowid AS rid, osm_type, osm_id, lat, lon FROM cameras WHERE {cell} IS NULL;

-- name: cells-lacking
-- How many cameras of the connection lack a cell in column {cell}.
-- idents: cell
SELECT count(*) FROM cameras WHERE {cell} IS NULL;

-- name: cells-add-fresh
-- Cells just computed for the store's cameras (the relation `cell_rows`: osm_type, osm_id,
-- lat, lon, cell) at $res, readable on this connection through `cells-view`.
-- params: res
-- bind: relation
INSERT INTO fresh_cells SELECT osm_type, osm_id, lat, lon, $res, cell FROM cell_rows;

-- name: cells-view
-- The connection's cameras become the store's with the cells of `fresh_cells` filled in (a
-- temporary view that hides the stored table for this connection only; the store is not
-- written, mapper/grid.py keeps the cells afterwards).
CREATE OR REPLACE TEMP VIEW cameras AS
SELECT c.* REPLACE (
    coalesce(c.h3_5, f.h3_5) AS h3_5, coalesce(c.h3_6, f.h3_6) AS h3_6,
    coalesce(c.h3_7, f.h3_7) AS h3_7, coalesce(c.h3_8, f.h3_8) AS h3_8,
    coalesce(c.h3_9, f.h3_9) AS h3_9, coalesce(c.h3_10, f.h3_10) AS h3_10,
    coalesce(c.h3_11, f.h3_11) AS h3_11, coalesce(c.h3_12, f.h3_12) AS h3_12
)
FROM query_table(current_database() || '.main.cameras') c
LEFT JOIN (
    SELECT osm_type, osm_id, lat, lon,
           max(cell) FILTER (WHERE res = 5) AS h3_5, max(cell) FILTER (WHERE res = 6) AS h3_6,
           max(cell) FILTER (WHERE res = 7) AS h3_7, max(cell) FILTER (WHERE res = 8) AS h3_8,
           max(cell) FILTER (WHERE res = 9) AS h3_9, max(cell) FILTER (WHERE res = 10) AS h3_10,
           max(cell) FILTER (WHERE res = 11) AS h3_11, max(cell) FILTER (WHERE res = 12) AS h3_12
    FROM fresh_cells GROUP BY ALL
) f ON f.osm_type = c.osm_type AND f.osm_id = c.osm_id AND f.lat = c.lat AND f.lon = c.lon;

-- name: cells-view-drop
-- The connection reads the stored cameras again (before a date's cameras take the name).
DROP VIEW temp.main.cameras;

-- name: cells-own
-- Whether the connection's cameras are the store's own (not a temporary table of a date).
SELECT NOT EXISTS (
    SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = 'cameras'
) AS own;

-- name: cells-fill
-- Keep the cells of `cell_rows` (osm_type, osm_id, lat, lon, cell), computed on another
-- connection, in column {cell} of the store's cameras. A camera that has moved or gone since
-- is left alone.
-- idents: cell
UPDATE cameras
SET {cell} = f.cell
FROM cell_rows f
WHERE cameras.osm_type = f.osm_type AND cameras.osm_id = f.osm_id
  AND cameras.lat = f.lat AND cameras.lon = f.lon;

-- name: cells-fill-rows
-- `cells-fill` by rowid (`cell_rows`: rid, cell), for rows `cells-missing-rows` just read in
-- the same transaction: twice as fast as the join on the camera's key.
-- idents: cell
UPDATE cameras SET {cell} = f.cell FROM cell_rows f WHERE cameras.rowid = f.rid;

-- name: cells-missing-areas
-- The distinct occupied cells of column {cell} whose area is not known yet, counting the
-- cells of `cell_rows` (cell), computed and about to be written, as occupied.
-- idents: cell
SELECT DISTINCT o.cell
FROM (
    SELECT c.{cell} AS cell FROM cameras c WHERE c.{cell} IS NOT NULL
    UNION ALL
    SELECT f.cell FROM cell_rows f
) o
WHERE NOT EXISTS (SELECT 1 FROM known_areas a WHERE a.cell = o.cell);

-- name: cells-add-fresh-areas
-- Cell areas just computed (the NumPy relation `area_rows_h3`: cell, area_km2).
INSERT INTO fresh_areas SELECT cell, area_km2 FROM area_rows_h3;

-- name: cells-keep-areas
-- Store computed cell areas (`area_rows_h3`), but not a cell stored meanwhile.
INSERT INTO cell_areas
SELECT r.cell, r.area_km2
FROM area_rows_h3 r
WHERE NOT EXISTS (SELECT 1 FROM cell_areas a WHERE a.cell = r.cell);

-- name: grid-store
-- Every occupied H3 cell of the store at resolution $res, with counts by kind, the cell's
-- full area and the density on it: the cameras grouped by their cell (a column) and the
-- cells joined to their areas (`known_areas`, h3.cell_area). The ids are made text by
-- mapper/grid.py. {cell}: the resolution's column (h3_5 to h3_12); {areas}: `known_areas`,
-- or `cell_areas` when the connection computed none (a join with a view of a union is
-- slower).
-- idents: cell, areas
WITH counts AS (
    SELECT c.{cell} AS cell, count(*) AS cameras, kind_counts(c.kind) AS by_kind
    FROM cameras c
    GROUP BY 1
)
SELECT n.cell, n.cameras, unnest(n.by_kind), a.area_km2, n.cameras / a.area_km2 AS per_km2
FROM counts n
JOIN {areas} a USING (cell);

-- name: grid-area
-- The H3 grid of one area at resolution $res: every cell whose centre or any part lies in
-- the area (h3 'overlap' cover, plus the stored cells of the area's cameras), empty ones
-- included.
-- A cell counts only the cameras inside the area; its area is the geodesic (WGS84) area of
-- the cell clipped to the boundary, and the density is taken on that clipped area.
-- params: area_id, res
-- idents: cell
WITH area AS (
    SELECT ST_GeomFromWKB(geometry) AS g, geometry AS wkb FROM areas WHERE id = $area_id
),
inside AS (SELECT kind, lower(hex({cell})) AS h3 FROM area_cameras($area_id)),
cover AS (
    SELECT unnest(h3_cover(wkb, $res)) AS h3 FROM area
    UNION
    SELECT h3 FROM inside
),
-- every cell of the cover with its cameras (none: counts of 0)
counts AS (
    SELECT cv.h3, count(i.kind) AS cameras, kind_counts(i.kind) AS by_kind
    FROM cover cv LEFT JOIN inside i USING (h3)
    GROUP BY 1
),
clipped AS (
    SELECT cv.h3,
           ST_Area_Spheroid(ST_FlipCoordinates(
               ST_Intersection(ST_GeomFromText(h3_boundary_wkt(cv.h3)), a.g)
           )) / 1e6 AS area_km2
    FROM cover cv, area a
)
SELECT cl.h3, n.cameras, unnest(n.by_kind), cl.area_km2,
       CASE WHEN cl.area_km2 > 0 THEN n.cameras / cl.area_km2 END AS per_km2
FROM clipped cl JOIN counts n USING (h3)
WHERE cl.area_km2 > 0 OR n.cameras > 0
ORDER BY cl.h3;

-- name: grid-cache-get
-- A cached grid of an area, when it was computed in the store's current state.
-- params: area_id, res, state
SELECT h3, cameras, camera, "ALPR", speed_camera, guard, gunshot_detector, other, unknown,
       area_km2, per_km2
FROM grid_cache
WHERE area_id = $area_id AND res = $res AND state = $state
ORDER BY h3;

-- name: grid-cache-drop
-- Forget the cached grid of an area at one resolution (any state).
-- params: area_id, res
DELETE FROM grid_cache WHERE area_id = $area_id AND res = $res;

-- name: grid-cache-drop-stale
-- Forget every cached grid computed in an older state of the store.
-- params: state
DELETE FROM grid_cache WHERE state <> $state;

-- name: grid-cache-put
-- Cache a computed grid (registered as `grid_rows`) for an area, resolution and state.
-- params: area_id, res, state
INSERT INTO grid_cache
SELECT $area_id, $res, $state, h3, cameras, camera, "ALPR", speed_camera, guard,
       gunshot_detector, other, unknown, area_km2, per_km2
FROM grid_rows;
