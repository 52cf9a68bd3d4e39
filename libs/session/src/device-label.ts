import Bowser from 'bowser';

/**
 * A readable name for the device a session was started on, from its user agent: "Safari on
 * macOS", "Chrome on Android (mobile)". Parsed by bowser, a maintained parser; null when there is
 * no user agent or nothing in it is recognised. Apps replace it with the `deviceLabel` option.
 */
export function defaultDeviceLabel(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const { browser, os, platform } = Bowser.parse(userAgent);
  const parts = [browser.name, os.name].filter((part): part is string => !!part);
  if (parts.length === 0) return null;
  const label = parts.join(' on ');
  return platform.type === 'mobile' || platform.type === 'tablet' ? `${label} (${platform.type})` : label;
}
