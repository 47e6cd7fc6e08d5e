-- name: cells-prepare
-- The cells a connection reads: those stored (`point_cells`, `cell_areas`, schema v5) and
-- those computed on this connection and not yet stored (temporary tables, filled by
-- mapper/grid.py). A camera's cell at a resolution is the row of its own position.
CREATE TEMP TABLE IF NOT EXISTS fresh_cells (
    res UTINYINT NOT NULL, lat DOUBLE NOT NULL, lon DOUBLE NOT NULL, cell UBIGINT NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS fresh_areas (cell UBIGINT NOT NULL, area_km2 DOUBLE NOT NULL);
CREATE OR REPLACE TEMP VIEW known_cells AS
SELECT res, lat, lon, cell FROM point_cells
UNION ALL
SELECT res, lat, lon, cell FROM fresh_cells;
CREATE OR REPLACE TEMP VIEW known_areas AS
SELECT cell, area_km2 FROM cell_areas
UNION ALL
SELECT cell, area_km2 FROM fresh_areas;

-- name: cells-complete
-- Whether every camera position of the store has its cell at a resolution (key 'cells-R')
-- or every occupied cell its area (key 'cell-areas-R'): true when the key records the
-- store's current state (mapper/grid.py writes it when it keeps the cells) and the
-- connection's cameras are the store's own (`own`: not the store as of a date, a temporary
-- `cameras`); and that state.
-- params: key
-- bind: relation
WITH own AS (
    SELECT NOT EXISTS (
        SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = 'cameras'
    ) AS own
)
SELECT own.own AND EXISTS (
           SELECT 1 FROM meta m
           WHERE m.key = $key AND m.value = (SELECT value FROM meta WHERE key = 'state')
       ) AS complete,
       own.own,
       (SELECT value FROM meta WHERE key = 'state') AS state
FROM own;

-- name: cells-mark-complete
-- Record that every camera position had its cell (or cell area) under key $key in store
-- state $state.
-- params: key, state
-- bind: relation
INSERT OR REPLACE INTO meta VALUES ($key, $state);

-- name: cells-missing
-- The distinct camera positions without a cell at resolution $res.
-- params: res
-- bind: relation
SELECT DISTINCT c.lat, c.lon
FROM cameras c
WHERE NOT EXISTS (
    SELECT 1 FROM known_cells k WHERE k.res = $res AND k.lat = c.lat AND k.lon = c.lon
);

-- name: cells-add-fresh
-- Cells just computed (the NumPy relation `cell_rows`: lat, lon, cell) at $res, readable
-- on this connection.
-- params: res
-- bind: relation
INSERT INTO fresh_cells SELECT $res, lat, lon, cell FROM cell_rows;

-- name: cells-missing-areas
-- The distinct occupied cells at $res whose area is not known yet.
-- params: res
-- bind: relation
SELECT DISTINCT k.cell
FROM known_cells k
WHERE k.res = $res AND NOT EXISTS (SELECT 1 FROM known_areas a WHERE a.cell = k.cell);

-- name: cells-add-fresh-areas
-- Cell areas just computed (the NumPy relation `area_rows_h3`: cell, area_km2).
INSERT INTO fresh_areas SELECT cell, area_km2 FROM area_rows_h3;

-- name: cells-keep
-- Store computed cells (`cell_rows`) at $res, but not a position stored meanwhile.
-- params: res
-- bind: relation
INSERT INTO point_cells
SELECT $res, r.lat, r.lon, r.cell
FROM cell_rows r
WHERE NOT EXISTS (
    SELECT 1 FROM point_cells p WHERE p.res = $res AND p.lat = r.lat AND p.lon = r.lon
);

-- name: cells-keep-areas
-- Store computed cell areas (`area_rows_h3`), but not a cell stored meanwhile.
INSERT INTO cell_areas
SELECT r.cell, r.area_km2
FROM area_rows_h3 r
WHERE NOT EXISTS (SELECT 1 FROM cell_areas a WHERE a.cell = r.cell);

-- name: grid-store
-- Every occupied H3 cell of the store at resolution $res, with counts by kind, the cell's
-- full area and the density on it: a join of the cameras to their stored cells
-- (`known_cells`) and of the cells to their areas (`known_areas`, h3.cell_area).
-- params: res
-- bind: relation
WITH counts AS (
    SELECT k.cell,
           count(*) AS cameras,
           count(*) FILTER (WHERE c.kind = 'camera') AS camera,
           count(*) FILTER (WHERE c.kind = 'ALPR') AS "ALPR",
           count(*) FILTER (WHERE c.kind = 'speed_camera') AS speed_camera,
           count(*) FILTER (WHERE c.kind = 'guard') AS guard,
           count(*) FILTER (WHERE c.kind = 'gunshot_detector') AS gunshot_detector,
           count(*) FILTER (WHERE c.kind = 'other') AS other,
           count(*) FILTER (WHERE c.kind = 'unknown') AS unknown
    FROM cameras c
    JOIN known_cells k ON k.res = $res AND k.lat = c.lat AND k.lon = c.lon
    GROUP BY k.cell
)
SELECT lower(hex(n.cell)) AS h3, n.cameras, n.camera, n."ALPR", n.speed_camera, n.guard,
       n.gunshot_detector, n.other, n.unknown, a.area_km2, n.cameras / a.area_km2 AS per_km2
FROM counts n
JOIN known_areas a USING (cell)
ORDER BY n.cell;

-- name: grid-area
-- The H3 grid of one area at resolution $res: every cell whose centre or any part lies in
-- the area (h3 'overlap' cover, plus the stored cells of the area's cameras), empty ones
-- included.
-- A cell counts only the cameras inside the area; its area is the geodesic (WGS84) area of
-- the cell clipped to the boundary, and the density is taken on that clipped area.
-- params: area_id, res
WITH area AS (
    SELECT ST_GeomFromWKB(geometry) AS g, geometry AS wkb FROM areas WHERE id = $area_id
),
inside AS (SELECT lat, lon, kind FROM area_cameras($area_id)),
counts AS (
    SELECT lower(hex(k.cell)) AS h3,
           count(*) AS cameras,
           count(*) FILTER (WHERE i.kind = 'camera') AS camera,
           count(*) FILTER (WHERE i.kind = 'ALPR') AS "ALPR",
           count(*) FILTER (WHERE i.kind = 'speed_camera') AS speed_camera,
           count(*) FILTER (WHERE i.kind = 'guard') AS guard,
           count(*) FILTER (WHERE i.kind = 'gunshot_detector') AS gunshot_detector,
           count(*) FILTER (WHERE i.kind = 'other') AS other,
           count(*) FILTER (WHERE i.kind = 'unknown') AS unknown
    FROM inside i
    JOIN known_cells k ON k.res = $res AND k.lat = i.lat AND k.lon = i.lon
    GROUP BY 1
),
cover AS (
    SELECT unnest(h3_cover(wkb, $res)) AS h3 FROM area
    UNION
    SELECT h3 FROM counts
),
clipped AS (
    SELECT cv.h3,
           ST_Area_Spheroid(ST_FlipCoordinates(
               ST_Intersection(ST_GeomFromText(h3_boundary_wkt(cv.h3)), a.g)
           )) / 1e6 AS area_km2
    FROM cover cv, area a
)
SELECT cl.h3,
       coalesce(n.cameras, 0) AS cameras, coalesce(n.camera, 0) AS camera,
       coalesce(n."ALPR", 0) AS "ALPR", coalesce(n.speed_camera, 0) AS speed_camera,
       coalesce(n.guard, 0) AS guard, coalesce(n.gunshot_detector, 0) AS gunshot_detector,
       coalesce(n.other, 0) AS other, coalesce(n.unknown, 0) AS unknown,
       cl.area_km2,
       CASE WHEN cl.area_km2 > 0 THEN coalesce(n.cameras, 0) / cl.area_km2 END AS per_km2
FROM clipped cl LEFT JOIN counts n USING (h3)
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
