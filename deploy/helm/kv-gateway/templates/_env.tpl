{{- define "kvgw.env" -}}
envFrom:
  - configMapRef: {name: {{ .Release.Name }}-config}
  - secretRef: {name: {{ .Values.secretName }}}
{{- end -}}
