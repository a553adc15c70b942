-- bench/gen.sql — deterministic generator for the benchmark's "events" table.
--
-- Load with `psql -f bench/gen.sql` (or on stdin).  It creates schema "bench"
-- with:
--   bench.events(nrows bigint, first_id bigint DEFAULT 1)
--       set-returning function producing rows first_id .. first_id+nrows-1.
--       The same id always gives the same row: every value is derived from
--       hashint8extended(id, seed) (no random()), so heap and lsm tables,
--       and runs on different machines, hold identical data.
--   bench.create_events(tbl text, am text)
--       (re)creates an empty events table using access method am.
--   bench.ts_of(id bigint)
--       the timestamp of row id, to build time-range predicates.
--
-- Columns: id (load order), ts (increasing with id), user_id (high
-- cardinality, 2% NULL), device (20 values, skewed), country (50 values,
-- skewed, 1% NULL), url (high cardinality), status (6 values), amount
-- (5% NULL), duration, is_error (status >= 500), tags (30% NULL).
--
-- Typical use:
--   COPY (SELECT * FROM bench.events(1000000)) TO '/tmp/x/events.data';
--   SELECT bench.create_events('events_lsm', 'lsm');
--   COPY events_lsm FROM '/tmp/x/events.data';

CREATE SCHEMA IF NOT EXISTS bench;

-- Rows are 50 ms apart from 2024-01-01 00:00:00 UTC, plus up to 40 ms of
-- jitter, so ts strictly increases with id.
CREATE OR REPLACE FUNCTION bench.ts_of(id bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_timestamp(1704067200::float8 + id * 0.05);

CREATE OR REPLACE FUNCTION bench.events(nrows bigint, first_id bigint DEFAULT 1)
RETURNS TABLE (
	id			bigint,
	ts			timestamptz,
	user_id		int,
	device		text,
	country		text,
	url			text,
	status		int2,
	amount		numeric(12,2),
	duration	float8,
	is_error	boolean,
	tags		text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT
	g,
	to_timestamp(1704067200::float8 + g * 0.05 + floor(u.ts * 40) / 1000.0),
	CASE WHEN u.null_user < 0.02 THEN NULL
		 ELSE 1 + floor(u.user_id * 1000000)::int END,
	(ARRAY['desktop-chrome', 'desktop-firefox', 'desktop-safari', 'desktop-edge',
		   'android-chrome', 'android-app', 'iphone-safari', 'iphone-app',
		   'ipad-safari', 'ipad-app', 'tablet-android', 'smart-tv', 'console',
		   'watch', 'linux-firefox', 'linux-chrome', 'bot-google', 'bot-bing',
		   'bot-other', 'unknown'])[1 + floor(u.device * u.device * 20)::int],
	CASE WHEN u.null_country < 0.01 THEN NULL
		 ELSE (ARRAY['US', 'DE', 'GB', 'FR', 'IN', 'JP', 'BR', 'CA', 'IT', 'ES',
					 'NL', 'SE', 'PL', 'AU', 'MX', 'KR', 'CH', 'BE', 'AT', 'NO',
					 'DK', 'FI', 'IE', 'PT', 'CZ', 'RO', 'HU', 'GR', 'TR', 'IL',
					 'ZA', 'NG', 'EG', 'KE', 'AR', 'CL', 'CO', 'PE', 'NZ', 'SG',
					 'HK', 'TW', 'TH', 'VN', 'ID', 'MY', 'PH', 'UA', 'SK', 'SI'])
			  [1 + floor(u.country * u.country * 50)::int] END,
	'https://shop.example.com/'
		|| (ARRAY['catalog', 'product', 'cart', 'checkout', 'search', 'account',
				  'help', 'blog'])[1 + floor(u.section * 8)::int]
		|| '/' || floor(u.page * u.page * 200000)::int
		|| CASE WHEN u.utm < 0.3
				THEN '?utm_source=' || (ARRAY['google', 'newsletter', 'facebook',
											  'partner'])[1 + floor(u.utm / 0.3 * 4)::int]
				ELSE '' END,
	(CASE WHEN u.status < 0.900 THEN 200
		  WHEN u.status < 0.940 THEN 304
		  WHEN u.status < 0.960 THEN 301
		  WHEN u.status < 0.985 THEN 404
		  WHEN u.status < 0.995 THEN 500
		  ELSE 503 END)::int2,
	CASE WHEN u.null_amount < 0.05 THEN NULL
		 ELSE round((u.amount * u.amount * u.amount * 2000)::numeric, 2) END,
	round((-ln(1 - u.duration) * 150)::numeric, 3)::float8,
	u.status >= 0.985,
	CASE WHEN u.tags < 0.30 THEN NULL
		 ELSE (ARRAY['new', 'returning', 'promo', 'new,promo', 'returning,promo',
					 'mobile', 'mobile,new', 'mobile,returning', 'beta',
					 'beta,returning', 'vip', 'vip,returning', 'vip,promo',
					 'mobile,promo', 'newsletter', 'newsletter,promo'])
			  [1 + floor((u.tags - 0.30) / 0.70 * 16)::int] END
FROM generate_series(first_id, first_id + nrows - 1) AS g,
	LATERAL (SELECT
		(hashint8extended(g, 1) & 9007199254740991) / 9007199254740992.0::float8 AS ts,
		(hashint8extended(g, 2) & 9007199254740991) / 9007199254740992.0::float8 AS null_user,
		(hashint8extended(g, 3) & 9007199254740991) / 9007199254740992.0::float8 AS user_id,
		(hashint8extended(g, 4) & 9007199254740991) / 9007199254740992.0::float8 AS device,
		(hashint8extended(g, 5) & 9007199254740991) / 9007199254740992.0::float8 AS null_country,
		(hashint8extended(g, 6) & 9007199254740991) / 9007199254740992.0::float8 AS country,
		(hashint8extended(g, 7) & 9007199254740991) / 9007199254740992.0::float8 AS section,
		(hashint8extended(g, 8) & 9007199254740991) / 9007199254740992.0::float8 AS page,
		(hashint8extended(g, 9) & 9007199254740991) / 9007199254740992.0::float8 AS utm,
		(hashint8extended(g, 10) & 9007199254740991) / 9007199254740992.0::float8 AS status,
		(hashint8extended(g, 11) & 9007199254740991) / 9007199254740992.0::float8 AS null_amount,
		(hashint8extended(g, 12) & 9007199254740991) / 9007199254740992.0::float8 AS amount,
		(hashint8extended(g, 13) & 9007199254740991) / 9007199254740992.0::float8 AS duration,
		(hashint8extended(g, 14) & 9007199254740991) / 9007199254740992.0::float8 AS tags
	) AS u
$$;

CREATE OR REPLACE FUNCTION bench.create_events(tbl text, am text) RETURNS void
LANGUAGE plpgsql SET client_min_messages = warning AS $$
BEGIN
	EXECUTE format('DROP TABLE IF EXISTS %I', tbl);
	EXECUTE format($ddl$
		CREATE TABLE %I (
			id			bigint NOT NULL,
			ts			timestamptz NOT NULL,
			user_id		int,
			device		text NOT NULL,
			country		text,
			url			text NOT NULL,
			status		int2 NOT NULL,
			amount		numeric(12,2),
			duration	float8 NOT NULL,
			is_error	boolean NOT NULL,
			tags		text
		) USING %I$ddl$, tbl, am);
END
$$;
