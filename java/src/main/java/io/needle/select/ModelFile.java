package io.needle.select;

import io.needle.NeedleException;
import java.nio.file.Path;

/** The JSON file of a trained {@link Learned} strategy: read once, written atomically. */
final class ModelFile {
  static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private ModelFile() {}

  /** @throws NeedleException BAD_INPUT naming the file if it cannot be read as JSON */
  static com.fasterxml.jackson.databind.JsonNode read(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (java.io.IOException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": " + e.getMessage());
    }
  }

  static void write(Path file, com.fasterxml.jackson.databind.node.ObjectNode doc) {
    io.needle.data.AtomicWrite.write(file, out -> out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc)));
  }
}
