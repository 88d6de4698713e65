package io.needle.report;

/** What the self-contained HTML reports share: the page head and escaping. No scripts, no network. */
final class Html {
  private Html() {}

  /** The document start up to and including {@code <body>}. */
  static String head(String title) {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title>\n<style>\n"
        + "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}"
        + "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse;width:100%}"
        + "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
        + "tr.pick{background:#eef6ee;font-weight:600}.bad{color:#a33}.muted{color:#777}svg text{font:12px system-ui,sans-serif}"
        + "\n</style></head><body>\n";
  }

  static String esc(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
