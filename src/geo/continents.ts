/**
 * ISO 3166-1 alpha-2 country -> continent code, as MaxMind assigns them
 * (AF AN AS EU NA OC SA). Flat databases such as DB-IP Lite carry only the
 * country, so continent rules need this table.
 */
const BY_CONTINENT: Record<string, string> = {
  AF: 'DZ AO BJ BW BF BI CM CV CF TD KM CG CD CI DJ EG GQ ER ET GA GM GH GN GW KE LS LR LY MG MW ML MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD SZ TZ TG TN UG EH ZM ZW',
  AN: 'AQ BV GS HM TF',
  AS: 'AF AM AZ BH BD BT IO BN KH CN CX CC CY GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN MM NP KP OM PK PS PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE',
  EU: 'AX AL AD AT BY BE BA BG HR CZ DK EE FO FI FR DE GI GR GG HU IS IE IM IT JE XK LV LI LT LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SJ SE CH UA GB VA',
  NA: 'AI AG AW BS BB BZ BM BQ VG CA KY CR CU CW DM DO SV GL GD GP GT HT HN JM MQ MX MS NI PA PR BL KN LC MF PM VC SX TT TC US UM VI',
  OC: 'AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV VU WF',
  SA: 'AR BO BR CL CO EC FK GF GY PY PE SR UY VE',
};

const COUNTRY_TO_CONTINENT = new Map<string, string>();
for (const [continent, list] of Object.entries(BY_CONTINENT)) {
  for (const cc of list.split(' ')) COUNTRY_TO_CONTINENT.set(cc, continent);
}

/** Continent code of an ISO country code, or null when unknown. */
export function continentOf(country: string): string | null {
  return COUNTRY_TO_CONTINENT.get(country.toUpperCase()) ?? null;
}

export const CONTINENT_CODES = Object.keys(BY_CONTINENT);
