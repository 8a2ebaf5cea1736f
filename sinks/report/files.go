package report

import (
	"errors"
	"io"
	"os"

	"github.com/ntpwatch/ntpwatch/internal/setting"
)

// Files are the summary JSON and HTML report files of a run. They are created when the run
// starts, so that a path that cannot be written is found before an hour of reading rather
// than after, and written when it ends. A path of "-" (or /dev/stdout) is stdout; "" is none.
type Files struct {
	summaryJSON, report     *os.File
	summaryPath, reportPath string
	isStdout                func(string) bool
}

// CreateFiles creates the files named by summaryJSON and report. isStdout tells the paths
// that mean stdout. An error names the setting (summary_json, report) as a *setting.Error.
func CreateFiles(summaryJSON, report string, isStdout func(string) bool) (*Files, error) {
	f := &Files{summaryPath: summaryJSON, reportPath: report, isStdout: isStdout}
	for _, o := range []struct {
		key, path string
		file      **os.File
	}{{"summary_json", summaryJSON, &f.summaryJSON}, {"report", report, &f.report}} {
		if o.path == "" || isStdout(o.path) {
			continue
		}
		var err error
		if *o.file, err = os.Create(o.path); err != nil {
			f.Discard()
			return nil, &setting.Error{Key: o.key, Err: err}
		}
	}
	return f, nil
}

// Write writes s into the files, or to stdout, and closes them. A failure is reported for
// each file, once, and never stops the other.
func (f *Files) Write(stdout io.Writer, s *Summary) error {
	var errs []error
	for _, out := range []struct {
		key, path string
		file      **os.File
		write     func(io.Writer) error
	}{{"summary_json", f.summaryPath, &f.summaryJSON, s.WriteJSON}, {"report", f.reportPath, &f.report, s.WriteHTML}} {
		switch {
		case out.path == "":
		case f.isStdout(out.path):
			if err := out.write(stdout); err != nil {
				errs = append(errs, setting.Errorf(out.key, "", "write stdout: %w", err))
			}
		default:
			err := out.write(*out.file)
			if cerr := (*out.file).Close(); err == nil {
				err = cerr
			}
			*out.file = nil
			if err != nil {
				errs = append(errs, &setting.Error{Key: out.key, Value: out.path, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// Discard closes and removes the files that were not written: the run stopped before its
// summary.
func (f *Files) Discard() {
	for _, o := range []*os.File{f.summaryJSON, f.report} {
		if o != nil {
			o.Close()
			os.Remove(o.Name())
		}
	}
}
