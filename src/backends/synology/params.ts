/**
 * Encoding of DSM Web API parameters. DSM parses every boolean, array and object parameter as a JSON literal
 * (docs/synology-dsm.md#parameter-encoding: `true`, `["a"]`; a Python-style "False" is answered with 3103), so values
 * are typed here and encoded in one place instead of each call site remembering to JSON.stringify.
 */
export type DsmParamValue = string | number | boolean | readonly unknown[] | Record<string, unknown>;
export type DsmParams = Record<string, DsmParamValue | undefined>;

/** One parameter as DSM expects it on the wire. Strings stay raw: DSM reads `name=alice`, not `name="alice"`. */
export function encodeParamValue(value: DsmParamValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('DSM parameters must be finite numbers');
    return String(value);
  }
  return JSON.stringify(value);
}

/** A form body (application/x-www-form-urlencoded); undefined entries are left out ("send only changed fields"). */
export function encodeForm(params: DsmParams): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) form.append(key, encodeParamValue(value));
  }
  return form.toString();
}
