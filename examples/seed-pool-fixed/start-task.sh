# Runs as root (elevation: admin) under "set -euo pipefail": the first failing step fails the start task,
# so a node never joins the pool half set up.
apt-get update
apt-get install -y software-properties-common curl gnupg
add-apt-repository -y ppa:deadsnakes/ppa
apt-get install -y python3.8 python3.8-dev python3.8-distutils python3-pip unixodbc-dev
update-alternatives --install /usr/bin/python3 python3 /usr/bin/python3.8 2
update-alternatives --set python3 /usr/bin/python3.8

# Microsoft ODBC driver: the key goes to a keyring file (apt-key is gone from current Ubuntu)
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://packages.microsoft.com/keys/microsoft.asc | gpg --dearmor -o /etc/apt/keyrings/microsoft.gpg
echo "deb [signed-by=/etc/apt/keyrings/microsoft.gpg] https://packages.microsoft.com/ubuntu/22.04/prod jammy main" \
  > /etc/apt/sources.list.d/mssql-release.list
apt-get update
apt-get install -y msodbcsql17 mssql-tools
echo 'export PATH="$PATH:/opt/mssql-tools/bin"' >> /etc/profile.d/mssql-tools.sh

python3 -m pip install pip==21.3.1
python3 -m pip install \
  azure-core==1.17.0 azure-storage-blob==12.8.1 azure-storage-file-datalake==12.4.0 \
  azure-keyvault-secrets==4.3.0 azure-identity==1.6.1 networkx==2.5 numpy==1.19.5 pandas==1.1.3 \
  pyarrow==1.0.1 pyodbc==4.0.35 pythainlp==2.3.0 rapidfuzz==1.3.3 scikit-learn==0.24.1 scipy==1.6.0 \
  torch==1.7.1 tqdm==4.58.0 cffi==1.14.6 duckdb==0.2.9 Office365-REST-Python-Client==2.3.8 \
  openpyxl==3.0.9 xlsxwriter==3.0.2 xlrd==1.2.0 pytz==2021.1
