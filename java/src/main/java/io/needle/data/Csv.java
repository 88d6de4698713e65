package io.needle.data;

import io.needle.NeedleException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF) for the tables Needle reads back: score
 * tables and fine-tune oracles. The first row is the header; column names are matched case-insensitively.
 *
 * @param file where it was read from (for messages)
 * @param header the column names
 * @param rows the data rows, each as long as the header
 * @param lines the 1-based line number each row starts on
 */
public record Csv(Path file, List<String> header, List<String[]> rows, int[] lines) {

  /**
   * Reads a CSV file.
   *
   * @throws NeedleException BAD_INPUT if it does not exist, is empty, has an unterminated quote, or a row of the
   *     wrong length; IO if it cannot be read
   */
  public static Csv read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot read: " + e.getMessage(), e);
    }
    if (text.startsWith("\uFEFF")) text = text.substring(1);
    List<String[]> all = new ArrayList<>();
    List<Integer> starts = new ArrayList<>();
    List<String> row = new ArrayList<>();
    StringBuilder f = new StringBuilder();
    int line = 1, rowLine = 1;
    boolean quoted = false, any = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quoted) {
        if (c == '"') {
          if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
            f.append('"');
            i++;
          } else quoted = false;
        } else {
          if (c == '\n') line++;
          f.append(c);
        }
      } else if (c == '"') {
        quoted = true;
        any = true;
      } else if (c == ',') {
        row.add(f.toString());
        f.setLength(0);
        any = true;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') i++;
        if (any || f.length() > 0) {
          row.add(f.toString());
          all.add(row.toArray(String[]::new));
          starts.add(rowLine);
        }
        row.clear();
        f.setLength(0);
        any = false;
        rowLine = ++line;
      } else {
        f.append(c);
      }
    }
    if (quoted) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": line " + rowLine + ": unterminated quoted field");
    if (any || f.length() > 0) {
      row.add(f.toString());
      all.add(row.toArray(String[]::new));
      starts.add(rowLine);
    }
    if (all.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": empty (expected a header row)");
    List<String> header = new ArrayList<>();
    for (String h : all.get(0)) header.add(h.trim().toLowerCase(Locale.ROOT));
    int[] lines = new int[all.size() - 1];
    for (int r = 1; r < all.size(); r++) {
      if (all.get(r).length != header.size())
        throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": line " + starts.get(r) + ": " + all.get(r).length
            + " fields, but the header has " + header.size());
      lines[r - 1] = starts.get(r);
    }
    return new Csv(file, List.copyOf(header), List.copyOf(all.subList(1, all.size())), lines);
  }

  /**
   * @return the index of a required column
   * @throws NeedleException BAD_INPUT naming the file, the column and the columns it has
   */
  public int column(String name) {
    int i = header.indexOf(name);
    if (i < 0) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no column '" + name + "' (columns: " + String.join(",", header) + ")");
    return i;
  }

  /** @return the index of an optional column, or -1 */
  public int optionalColumn(String name) {
    return header.indexOf(name);
  }

  /** @return a BAD_INPUT error for data row {@code r} naming the file and line */
  public NeedleException bad(int r, String message) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, file + ": line " + lines[r] + ": " + message);
  }

  /** @return a number in row {@code r}, column {@code c}; blank or "NaN" give NaN */
  public double number(int r, int c) {
    String s = rows.get(r)[c].trim();
    if (s.isEmpty() || s.equalsIgnoreCase("nan")) return Double.NaN;
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw bad(r, "'" + s + "' in column " + header.get(c) + " is not a number");
    }
  }

  /** @return one CSV field, quoted only when it must be */
  public static String field(String s) {
    if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
    return '"' + s.replace("\"", "\"\"") + '"';
  }
}
