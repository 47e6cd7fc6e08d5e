-- name: grid-store
-- Every occupied H3 cell of the store at resolution $res, with counts by kind, the cell's
-- full area and the density on it. h3_cell_int and h3_cell_area are the h3 package's
-- functions, registered as Arrow UDFs by mapper/grid.py.
-- params: res
WITH counts AS (
    SELECT h3_cell_int(lat, lon, $res) AS cell,
           count(*) AS cameras,
           count(*) FILTER (WHERE kind = 'camera') AS camera,
           count(*) FILTER (WHERE kind = 'ALPR') AS "ALPR",
           count(*) FILTER (WHERE kind = 'speed_camera') AS speed_camera,
           count(*) FILTER (WHERE kind = 'guard') AS guard,
           count(*) FILTER (WHERE kind = 'gunshot_detector') AS gunshot_detector,
           count(*) FILTER (WHERE kind = 'other') AS other,
           count(*) FILTER (WHERE kind = 'unknown') AS unknown
    FROM cameras
    GROUP BY 1
),
cells AS MATERIALIZED (
    SELECT lower(hex(cell)) AS h3, * EXCLUDE (cell) FROM counts
),
sized AS MATERIALIZED (
    SELECT *, h3_cell_area(h3) AS area_km2 FROM cells
)
SELECT h3, cameras, camera, "ALPR", speed_camera, guard, gunshot_detector, other, unknown,
       area_km2, cameras / area_km2 AS per_km2
FROM sized
ORDER BY h3;

-- name: grid-area
-- The H3 grid of one area at resolution $res: every cell whose centre or any part lies in
-- the area (h3 'overlap' cover, plus the cells of the area's cameras), empty ones included.
-- A cell counts only the cameras inside the area; its area is the geodesic (WGS84) area of
-- the cell clipped to the boundary, and the density is taken on that clipped area.
-- params: area_id, res
WITH area AS (
    SELECT ST_GeomFromWKB(geometry) AS g, geometry AS wkb FROM areas WHERE id = $area_id
),
inside AS (SELECT lat, lon, kind FROM area_cameras($area_id)),
counts AS (
    SELECT lower(hex(h3_cell_int(lat, lon, $res))) AS h3,
           count(*) AS cameras,
           count(*) FILTER (WHERE kind = 'camera') AS camera,
           count(*) FILTER (WHERE kind = 'ALPR') AS "ALPR",
           count(*) FILTER (WHERE kind = 'speed_camera') AS speed_camera,
           count(*) FILTER (WHERE kind = 'guard') AS guard,
           count(*) FILTER (WHERE kind = 'gunshot_detector') AS gunshot_detector,
           count(*) FILTER (WHERE kind = 'other') AS other,
           count(*) FILTER (WHERE kind = 'unknown') AS unknown
    FROM inside
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
