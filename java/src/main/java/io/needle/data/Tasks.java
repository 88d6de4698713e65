package io.needle.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.needle.NeedleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A folder of downstream tasks described by {@code tasks.json}: {@code {"tasks": [{"name", "group", "train", ...}]}}.
 * {@code train} is the dataset Needle scores (any format {@link Images#open} reads), relative to the folder;
 * {@code group} (e.g. natural, specialized, structured as in VTAB) is what regret is aggregated over;
 * {@code "exclude": "reason"} keeps a task in the folder (and its oracle rows) but out of selection and evaluation,
 * with the reason said once. {@code test} (optional) is the held-out test set the oracle's logits are rows of (its
 * labels are what ensembles are scored on); other keys (sizes, notes) are for the tools that made the oracle and are
 * ignored here.
 */
public final class Tasks {
  /** The manifest's file name. */
  public static final String MANIFEST = "tasks.json";

  /**
   * One task.
   *
   * @param name unique name, as in score and oracle tables
   * @param group the group it is aggregated in ("all" when the manifest gives none)
   * @param train the dataset file or folder to score
   * @param excluded why the task is left out of selection and evaluation, or null when it is in
   * @param test the test set's images file or folder, or null when the manifest names none (it need not exist)
   */
  public record Task(String name, String group, Path train, String excluded, Path test) {
    /** A task without a test set. */
    public Task(String name, String group, Path train, String excluded) {
      this(name, group, train, excluded, null);
    }
  }

  /** @return the tasks that are not excluded, in manifest order */
  public static List<Task> included(List<Task> tasks) {
    return tasks.stream().filter(t -> t.excluded() == null).toList();
  }

  private Tasks() {}

  /** @return whether {@code dir} is a folder of tasks (has a {@code tasks.json}) */
  public static boolean isSuite(Path dir) {
    return dir != null && Files.isRegularFile(dir.resolve(MANIFEST));
  }

  /**
   * Reads {@code dir/tasks.json}, or a {@code tasks.json} file itself.
   *
   * @throws NeedleException BAD_INPUT naming the file and entry when an entry is malformed, a name repeats, or a
   *     train path leaves the folder or does not exist
   */
  public static List<Task> read(Path dirOrFile) {
    Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(MANIFEST) : dirOrFile;
    Path dir = file.toAbsolutePath().normalize().getParent();
    JsonNode doc;
    try {
      doc = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      if (!Files.exists(file)) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": not valid JSON: " + e.getMessage(), e);
    }
    JsonNode list = doc == null ? null : doc.get("tasks");
    if (list == null || !list.isArray() || list.isEmpty())
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": expected {\"tasks\": [{\"name\": ..., \"train\": ...}, ...]}");
    List<Task> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode t = list.get(i);
      String where = file + ": task " + (i + 1);
      if (!t.isObject() || !t.hasNonNull("name") || !t.hasNonNull("train"))
        throw new NeedleException(NeedleException.Code.BAD_INPUT, where + ": needs \"name\" and \"train\"");
      String name = t.get("name").asText();
      if (!names.add(name)) throw new NeedleException(NeedleException.Code.BAD_INPUT, where + ": name '" + name + "' used twice");
      Path train = inside(dir, t.get("train").asText(), where + " '" + name + "': train");
      if (!Files.exists(train)) throw new NeedleException(NeedleException.Code.BAD_INPUT, where + " '" + name + "': " + train + " does not exist");
      Path test = t.hasNonNull("test") ? inside(dir, t.get("test").asText(), where + " '" + name + "': test") : null;
      out.add(new Task(name, t.hasNonNull("group") ? t.get("group").asText() : "all", train,
          t.hasNonNull("exclude") ? t.get("exclude").asText() : null, test));
    }
    return List.copyOf(out);
  }

  /** A path of tasks.json, resolved in its folder: a valid path that stays inside it, or BAD_INPUT naming {@code what}. */
  private static Path inside(Path dir, String path, String what) {
    Path p;
    try {
      p = dir.resolve(path).normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, what + " path is not a valid path");
    }
    if (!p.startsWith(dir)) throw new NeedleException(NeedleException.Code.BAD_INPUT, what + " path leaves the folder");
    return p;
  }
}
